/**
 * @emodetect/train: the training loop (Adam, categorical cross-entropy with label smoothing,
 * cosine schedule, class weights, early stopping), data splits and evaluation. Isomorphic; the
 * checkpointing runner and terminal progress are in `@emodetect/train/node`.
 */
// The loop's own validation pass (`validate`) stays inside: `evaluate` is the one public scorer.
export {
  DEFAULT_TRAIN_CONFIG,
  gatherImages,
  learningRateAt,
  restoreAdam,
  trainModel,
  type BatchProgress,
  type EpochRecord,
  type NamedTensor,
  type StepEngine,
  type TrainConfig,
  type TrainData,
  type TrainHooks,
  type TrainResult,
  type TrainState,
} from './loop.ts';
export * from './splits.ts';
export * from './evaluate.ts';
export * from './shard.ts';
