/**
 * Mixup (Zhang et al., 2018) on plain arrays, after the per-image augmentation: image i of a batch
 * becomes λ_i·x_i + (1 - λ_i)·x_π(i) for a random permutation π of the batch, and its target and
 * loss weight are blended with the same λ_i. λ_i is drawn from Beta(α, α) and folded to at least
 * 0.5, so each image stays mostly itself and keeps its own label's lead. With online teachers the
 * teachers see the blended image, so their answer follows it. When the tfjs trainer splits a batch
 * across worker threads, each shard blends within itself.
 */
import type { Rng } from './rng.ts';

export interface MixupBatch {
  /** n images of `per` values each. */
  pixels: Float32Array;
  /** n x classes target distributions. */
  targets: Float32Array;
  /** n loss weights. */
  weights: Float32Array;
}

/**
 * Blend the first `n` images (`per` values each, `k` classes) of a batch with each other (see the
 * module doc); returns new arrays of n images and leaves the inputs alone. Deterministic for a
 * given `rng` state; alpha must be > 0.
 */
export function mixup(batch: MixupBatch, n: number, per: number, k: number, alpha: number, rng: Rng): MixupBatch {
  if (!(alpha > 0)) throw new Error(`mixup: alpha must be > 0, got ${alpha}`);
  if (batch.pixels.length < n * per || batch.targets.length < n * k || batch.weights.length < n)
    throw new Error(`mixup: the batch holds fewer than ${n} images of ${per} values, targets of ${k} classes or weights`);
  const order = rng.shuffle(Int32Array.from({ length: n }, (_, i) => i));
  const pixels = new Float32Array(n * per);
  const targets = new Float32Array(n * k);
  const weights = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const b = rng.beta(alpha, alpha);
    const lam = b < 0.5 ? 1 - b : b;
    const j = order[i];
    for (let p = 0; p < per; p++) pixels[i * per + p] = lam * batch.pixels[i * per + p] + (1 - lam) * batch.pixels[j * per + p];
    for (let c = 0; c < k; c++) targets[i * k + c] = lam * batch.targets[i * k + c] + (1 - lam) * batch.targets[j * k + c];
    weights[i] = lam * batch.weights[i] + (1 - lam) * batch.weights[j];
  }
  return { pixels, targets, weights };
}

/** The seed of a batch's mixup draws, from its augmentation seed (a stream apart from the augmentation's). */
export const mixupSeed = (augmentSeed: number): number => (augmentSeed ^ 0x5bd1e995) >>> 0;
