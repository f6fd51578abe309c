// sluice as a library: the same layers the CLI uses. `run()` is `sluice run` in-process; the
// stages compose by hand with stream.pipeline, async iteration or highland; processors are
// defined with defineProcessor (also in 'sluice/processor', which loads nothing else).

export { run, EVENTS_KEPT } from './run/api.js';
export type { PipelineSpec, RunApiOptions, RunHandle, StageSpec } from './run/api.js';
export type { RunOutcome } from './run/run.js';
export { EXIT, exitCodeOf, stopText } from './run/stop.js';
export type { StopReason } from './run/stop.js';

export { dedupe, journalSink, map, openCheckpoint, report, walk } from './run/compose.js';
export type { Checkpoint, MapStageOptions, ReportStageOptions, WalkStageOptions } from './run/compose.js';
export type { RecordHooks } from './run/record.js';
export type { ItemResult } from './stages/map.js';
export type { WalkWarning } from './stages/walk/walk.js';
export type { Item } from './core/item.js';

export { defineProcessor, isDefinedProcessor } from './core/define.js';
export type { DefinedContext, DefinedProcessor, ProcessorDefinition } from './core/define.js';
export { ItemTimeout } from './core/processor.js';
export type { ProcessorContext, ProcessorItem } from './core/processor.js';
/** read an item's bytes as the built-ins do: never through a link the walk did not follow, never a FIFO or device */
export { inputChunks, readInput } from './core/input.js';

export { SluiceError, ERROR_CODES, isErrorCode } from './core/errors.js';
export type { ErrorCode, ErrorInfo } from './core/errors.js';
export { EVENT_VERSION } from './core/events.js';
export type { ErrorEvent, ProgressEvent, ResultEvent, SluiceEvent, StartEvent, SummaryEvent, WarningEvent } from './core/events.js';
export { VERSION } from './core/version.js';
