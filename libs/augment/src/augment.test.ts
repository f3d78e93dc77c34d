import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import { augmentBatch, DEFAULT_AUGMENT, NO_AUGMENT, Rng } from './index.ts';

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
});

const batch = () => tf.tidy(() => tf.div(tf.reshape(tf.range(0, 2 * 8 * 10), [2, 8, 10, 1]), 160)) as tf.Tensor4D;

describe('augmentBatch', () => {
  it('is reproducible for a seed and differs across seeds', () => {
    const x = batch();
    const a = augmentBatch(x, DEFAULT_AUGMENT, new Rng(5)).arraySync();
    const b = augmentBatch(x, DEFAULT_AUGMENT, new Rng(5)).arraySync();
    const c = augmentBatch(x, DEFAULT_AUGMENT, new Rng(6)).arraySync();
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('is the identity with everything off', () => {
    const x = batch();
    expect(augmentBatch(x, NO_AUGMENT, new Rng(1)).arraySync()).toEqual(x.arraySync());
  });

  it('a certain flip mirrors the image exactly', () => {
    const x = batch();
    const y = augmentBatch(x, { ...NO_AUGMENT, flip: 1 }, new Rng(1));
    const d = tf.max(tf.abs(tf.sub(y, tf.reverse(x, 2)))).dataSync()[0];
    expect(d).toBeLessThan(1e-5);
  });

  it('keeps values in 0..1 and the shape', () => {
    const x = batch();
    const y = augmentBatch(x, { ...DEFAULT_AUGMENT, brightness: 0.5, contrast: 0.9, erase: 1 }, new Rng(3));
    expect(y.shape).toEqual(x.shape);
    expect(tf.min(y).dataSync()[0]).toBeGreaterThanOrEqual(0);
    expect(tf.max(y).dataSync()[0]).toBeLessThanOrEqual(1);
  });

  it('Rng shuffles reproducibly', () => {
    const a = new Rng(9).shuffle([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(new Rng(9).shuffle([1, 2, 3, 4, 5, 6, 7, 8])).toEqual(a);
    expect([...a].sort()).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
  });
});
