/**
 * One data-parallel shard of a training step: forward and backward on part of a batch, returning
 * summed (not averaged) gradients so that shards combine exactly. The same function runs on the
 * main thread and in worker threads (see `@emodetect/train/node`).
 */
import * as tf from '@tensorflow/tfjs';
import { augmentBatch, mixup, mixupSeed, Rng, type AugmentConfig } from '@emodetect/augment';

export interface ShardRequest {
  n: number;
  height: number;
  width: number;
  classes: number;
  /** n x height x width values in 0..1. */
  pixels: Float32Array;
  /** n x classes target distributions (one-hot or soft, label smoothing applied). */
  targets: Float32Array;
  /** Per-image loss weights (class weights). */
  sampleWeights: Float32Array;
  augment: AugmentConfig;
  /** Seeds of this shard's augmentation and of Math.random (dropout masks). */
  augmentSeed: number;
  randomSeed: number;
}

export interface ShardResult {
  /** Σ weight x cross-entropy over the shard. */
  lossSum: number;
  /** Σ weight over the shard. */
  weightSum: number;
  /** Correct top-1 predictions (against the target's arg-max). */
  hits: number;
  /** d lossSum / d w for each of the model's trainable weights, in `model.trainableWeights` order. */
  grads: Float32Array[];
}

/** Computes shards off the main thread (a worker thread, a web worker). */
export interface ShardWorker {
  /** Run a shard against the given weights (all of `model.weights`, in order). */
  run(req: ShardRequest, weights: Float32Array[]): Promise<ShardResult>;
  dispose(): Promise<void>;
}

/** Compute one shard's loss, hits and gradients with `model` (training mode). */
export function computeShard(model: tf.LayersModel, req: ShardRequest): ShardResult {
  const rng = new Rng(req.randomSeed);
  const original = Math.random;
  Math.random = () => rng.next();
  try {
    return tf.tidy(() => {
      const raw = tf.tensor4d(req.pixels, [req.n, req.height, req.width, 1]);
      let x = augmentBatch(raw, req.augment, new Rng(req.augmentSeed));
      let { targets, sampleWeights } = req;
      if (req.augment.mixup) {
        const mixed = mixup(
          { pixels: x.dataSync() as Float32Array, targets, weights: sampleWeights },
          req.n,
          req.height * req.width,
          req.classes,
          req.augment.mixup,
          new Rng(mixupSeed(req.augmentSeed)),
        );
        x = tf.tensor4d(mixed.pixels, x.shape);
        ({ targets, weights: sampleWeights } = mixed);
      }
      const y = tf.tensor2d(targets, [req.n, req.classes]);
      const w = tf.tensor1d(sampleWeights);
      const variables = model.trainableWeights.map((v) => v.read() as tf.Variable);
      let hits = 0;
      const { value, grads } = tf.variableGrads(() => {
        const probs = model.apply(x, { training: true }) as tf.Tensor2D;
        hits = tf.sum(tf.cast(tf.equal(tf.argMax(probs, 1), tf.argMax(y, 1)), 'float32')).dataSync()[0];
        const ce = tf.neg(tf.sum(tf.mul(y, tf.log(tf.clipByValue(probs, 1e-7, 1))), 1));
        return tf.sum(tf.mul(ce, w)) as tf.Scalar;
      }, variables);
      return {
        lossSum: value.dataSync()[0],
        weightSum: sampleWeights.reduce((a, b) => a + b, 0),
        hits,
        grads: variables.map((v) => grads[v.name].dataSync() as Float32Array),
      };
    });
  } finally {
    Math.random = original;
  }
}

/**
 * What a worker does with a request: load the sender's weights (all of `model.weights`, in order)
 * into its replica, then compute the shard. Frees everything it allocates.
 */
export function runShardWithWeights(model: tf.LayersModel, req: ShardRequest, weights: Float32Array[]): ShardResult {
  const values = weights.map((w, i) => tf.tensor(w, model.weights[i].shape as number[]));
  model.setWeights(values);
  tf.dispose(values);
  return computeShard(model, req);
}

/** Split n items into `parts` contiguous ranges as evenly as possible: [start, end) pairs. */
export function evenRanges(n: number, parts: number): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < parts; i++) out.push([Math.floor((i * n) / parts), Math.floor(((i + 1) * n) / parts)]);
  return out.filter(([a, b]) => b > a);
}
