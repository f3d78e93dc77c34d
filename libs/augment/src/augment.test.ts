import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import { augmentBatch, augmentImagesInto, DEFAULT_AUGMENT, DETECTOR_AUGMENT, mixup, NO_AUGMENT, Rng } from './index.ts';

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

describe('augmentImagesInto (plain arrays, for the native trainer)', () => {
  it.each([
    ['the defaults', DEFAULT_AUGMENT],
    ['detector-like crops (aspect changes)', DETECTOR_AUGMENT],
  ])('draws the same parameters and warps like augmentBatch with %s (erasing off: its noise comes from elsewhere)', (_name, base) => {
    const n = 6;
    const src = Float32Array.from({ length: n * 48 * 48 }, (_, i) => ((i * 7919) % 256) / 255);
    const cfg = { ...base, erase: 0 };
    const want = tf.tidy(() => augmentBatch(tf.tensor4d(src, [n, 48, 48, 1]), cfg, new Rng(9)).dataSync());
    const got = new Float32Array(src.length);
    augmentImagesInto(src, got, n, 48, 48, cfg, new Rng(9));
    let worst = 0;
    for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i] - want[i]));
    expect(worst).toBeLessThan(1e-4);
  });

  it('an aspect change widens the image and leaves the draws of configurations without it alone', () => {
    // A vertical bar 8 px wide in the middle: wider by e^0.3 with a certain aspect of +0.3.
    const src = Float32Array.from({ length: 48 * 48 }, (_, i) => (Math.abs((i % 48) - 23.5) < 4 ? 1 : 0));
    const wide = new Float32Array(src.length);
    const rng = { uniform: (lo: number, hi: number) => (lo === -0.3 ? 0.3 : (lo + hi) / 2), next: () => 1, int: () => 0 } as unknown as Rng;
    augmentImagesInto(src, wide, 1, 48, 48, { ...NO_AUGMENT, aspect: 0.3 }, rng);
    const row = Array.from(wide.subarray(24 * 48, 25 * 48));
    const width = row.reduce((a, b) => a + b, 0);
    expect(width).toBeCloseTo(8 * Math.exp(0.3), 0);
    // aspect 0 draws nothing more: the default pipeline's sequence is unchanged.
    const a = new Rng(4);
    const b = new Rng(4);
    const out = new Float32Array(src.length);
    augmentImagesInto(src, out, 1, 48, 48, DEFAULT_AUGMENT, a);
    augmentImagesInto(src, out, 1, 48, 48, { ...DEFAULT_AUGMENT, aspect: 0 }, b);
    expect(a.getState()).toBe(b.getState());
  });

  it('erases one rectangle with noise when erasing is certain, and refuses aliased buffers', () => {
    const src = new Float32Array(48 * 48).fill(0.5);
    const dst = new Float32Array(src.length);
    augmentImagesInto(src, dst, 1, 48, 48, { ...NO_AUGMENT, erase: 1 }, new Rng(3));
    const changed = dst.filter((v) => v !== 0.5).length;
    expect(changed).toBeGreaterThan(0.02 * 48 * 48 * 0.9);
    expect(changed).toBeLessThanOrEqual(0.25 * 48 * 48 * 1.1);
    expect(() => augmentImagesInto(src, src, 1, 48, 48, NO_AUGMENT, new Rng(3))).toThrow(/must differ/);
  });
});

describe('Rng.gamma and Rng.beta', () => {
  it('draw with the right means and stay in range', () => {
    const rng = new Rng(11);
    const mean = (f: () => number, n = 20000) => {
      let s = 0;
      for (let i = 0; i < n; i++) s += f();
      return s / n;
    };
    expect(mean(() => rng.gamma(0.4))).toBeCloseTo(0.4, 1);
    expect(mean(() => rng.gamma(3))).toBeCloseTo(3, 1);
    expect(mean(() => rng.beta(2, 6))).toBeCloseTo(0.25, 2);
    for (let i = 0; i < 1000; i++) {
      const b = rng.beta(0.2, 0.2);
      expect(b).toBeGreaterThanOrEqual(0);
      expect(b).toBeLessThanOrEqual(1);
    }
    expect(() => rng.gamma(0)).toThrow(/shape must be > 0/);
  });
});

describe('mixup', () => {
  const n = 6;
  const per = 5;
  const k = 3;
  const batch = () => ({
    pixels: Float32Array.from({ length: n * per }, (_, i) => Math.abs(Math.sin(1.7 * i + 0.3))),
    targets: Float32Array.from({ length: n * k }, (_, i) => (Math.floor(i / k) % k === i % k ? 1 : 0)),
    weights: Float32Array.from({ length: n }, (_, i) => 1 + i),
  });

  it('blends each image, its target and its weight with one partner by the same λ ≥ 0.5', () => {
    const b = batch();
    const copy = { pixels: b.pixels.slice(), targets: b.targets.slice(), weights: b.weights.slice() };
    const m = mixup(b, n, per, k, 0.4, new Rng(3));
    expect(b).toEqual(copy); // the inputs are left alone
    let mixed = 0;
    for (let i = 0; i < n; i++) {
      // The partner j and λ that give every pixel of blended image i (the images are unrelated).
      const px = (img: Float32Array, a: number, p: number) => img[a * per + p];
      const found = Array.from({ length: n }, (_, j) => j)
        .map((j) => {
          const lam = j === i ? 1 : (px(m.pixels, i, 0) - px(b.pixels, j, 0)) / (px(b.pixels, i, 0) - px(b.pixels, j, 0));
          const fits = Array.from({ length: per }, (_, p) => p).every(
            (p) => Math.abs(px(m.pixels, i, p) - (lam * px(b.pixels, i, p) + (1 - lam) * px(b.pixels, j, p))) < 1e-5,
          );
          return { j, lam, fits };
        })
        .filter((c) => c.fits);
      expect(found.length).toBe(1);
      const { j, lam } = found[0];
      expect(lam).toBeGreaterThanOrEqual(0.5);
      expect(lam).toBeLessThanOrEqual(1 + 1e-6);
      if (lam < 0.999) mixed++;
      expect(m.weights[i]).toBeCloseTo(lam * b.weights[i] + (1 - lam) * b.weights[j], 5);
      for (let c = 0; c < k; c++)
        expect(m.targets[i * k + c]).toBeCloseTo(lam * b.targets[i * k + c] + (1 - lam) * b.targets[j * k + c], 5);
      expect(m.targets.subarray(i * k, (i + 1) * k).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
    }
    expect(mixed).toBeGreaterThan(0);
    expect(mixup(batch(), n, per, k, 0.4, new Rng(3))).toEqual(m);
    expect(mixup(batch(), n, per, k, 0.4, new Rng(4))).not.toEqual(m);
  });

  it('refuses a bad alpha or a short batch', () => {
    expect(() => mixup(batch(), n, per, k, 0, new Rng(1))).toThrow(/alpha must be > 0/);
    expect(() => mixup(batch(), n + 1, per, k, 0.4, new Rng(1))).toThrow(/fewer than 7 images/);
  });
});
