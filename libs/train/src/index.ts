/**
 * @emodetect/train: the training loop (Adam, categorical cross-entropy with label smoothing,
 * cosine schedule, class weights, early stopping), data splits and evaluation. Isomorphic; the
 * checkpointing runner and terminal progress are in `@emodetect/train/node`.
 */
export * from './loop.ts';
export * from './splits.ts';
export * from './evaluate.ts';
export * from './shard.ts';
