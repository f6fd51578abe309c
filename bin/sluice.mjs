#!/bin/sh
':' //; exec node --max-old-space-size=1536 --max-semi-space-size=8 "$0" "$@"
// The command users run (package.json "bin"). Its first two lines are a shell script: they start
// Node on this same file with heap sizes for the main thread (line 2 is a string and a comment to
// Node). Then it is the CLI, dist/bin/sluice.js, which runs as well without them
// (`node dist/bin/sluice.js ...`). Why these sizes: docs/design-notes.md, "The main thread's heap".
import '../dist/bin/sluice.js';
