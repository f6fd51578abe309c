// node highland-example.mjs DIR: print "rel sha256" for each .txt file under DIR not done before
// (the checkpoint is DIR/.sluice: a rerun does only new or changed files)
import _ from 'highland';
import { finished } from 'node:stream/promises';
import { journalSink, map, openCheckpoint, walk } from 'sluice';

const dir = process.argv[2];
const checkpoint = await openCheckpoint(`${dir}/.sluice`);
const sink = journalSink(checkpoint, { recorded: (r) => console.log(r.item.rel, r.output?.sha256 ?? r.error.code) });
_(walk({ roots: [dir], checkpoint }))
  .filter((item) => item.rel.endsWith('.txt'))
  .through(map({ processor: 'sha256' }))
  .stopOnError((err) => sink.destroy(err))
  .pipe(sink);
await finished(sink).finally(() => checkpoint.close());
