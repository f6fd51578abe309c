// Imported first by bin/sluice.ts. The main thread allocates a few short-lived objects per item at
// tens of thousands of items per second; V8's default young generation (16 MB semi-spaces) then
// holds ~70 MB of garbage between scavenges. Small semi-spaces keep the run's peak RSS flat (see
// bench/BENCHMARKS.md, row 6) for a few percent of throughput. Worker threads keep the defaults.
import v8 from 'node:v8';

v8.setFlagsFromString(`--max-semi-space-size=${process.env.SLUICE_SEMI_SPACE_MB ?? 2}`);
