#!/bin/sh
':' //; case "$NODE_OPTIONS" in *space?size*|*heap?size*) exec node "$0" "$@";; *) exec node --max-old-space-size=1536 --max-semi-space-size=8 "$0" "$@";; esac
// The command users run (package.json "bin"). Its first two lines are a shell script: they start
// Node on this same file with heap sizes for the main thread (line 2 is a string and a comment to
// Node), unless NODE_OPTIONS gives heap sizes of its own. Then it is the CLI, dist/bin/sluice.js,
// which runs as well without them (`node dist/bin/sluice.js ...`). Why these sizes:
// docs/design-notes.md, "The main thread's heap".
import { setFlagsFromString } from 'node:v8';

// V8 reads heap-size flags each time it makes a heap, and lets them win over a worker thread's
// resourceLimits. The main thread's heap is made now: the flags line 2 gave are set back to 0
// (unset), so every thread started from here on (the processor workers, sized by max_memory_mb;
// the walker) takes its own sizes. Heap sizes given to node by hand are left as they are.
const LAUNCHER_FLAGS = ['--max-old-space-size=1536', '--max-semi-space-size=8'];
for (const flag of LAUNCHER_FLAGS) if (process.execArgv.includes(flag)) setFlagsFromString(flag.replace(/=.*/, '=0'));

await import('../dist/bin/sluice.js');
