// sluice/processor: what a processor module imports. Light on purpose (no run machinery): each
// worker thread loads it with the module.

export { defineProcessor, isDefinedProcessor } from './core/define.js';
export type { DefinedContext, DefinedProcessor, ProcessorDefinition } from './core/define.js';
export { ItemTimeout } from './core/processor.js';
export type { ProcessorContext, ProcessorItem } from './core/processor.js';
/** read an item's bytes as the built-ins do: never through a link the walk did not follow, never a FIFO or device */
export { inputChunks, readInput } from './core/input.js';
export { SluiceError, ERROR_CODES } from './core/errors.js';
export type { ErrorCode, ErrorInfo } from './core/errors.js';
/** zod 4, the copy sluice validates with: build a processor's options schema with it */
export { z } from './core/zod.js';
