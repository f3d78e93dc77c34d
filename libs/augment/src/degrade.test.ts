import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import {
  applyBlur,
  applyDownUp,
  applyGamma,
  applyJpeg,
  applyNoise,
  augmentBatch,
  augmentImagesInto,
  DEFAULT_DEGRADE,
  DETECTOR_AUGMENT,
  occludeEyes,
  occludeMouth,
  ROBUST_AUGMENT,
  Rng,
  type GrayFloat,
} from './index.ts';

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
});

/** A 48x48 gradient with a checkerboard: edges for blur and JPEG to lose. */
function face(): GrayFloat {
  const data = new Float32Array(48 * 48);
  for (let y = 0; y < 48; y++) for (let x = 0; x < 48; x++) data[y * 48 + x] = 0.2 + 0.5 * (x / 47) + (((x >> 2) + (y >> 2)) % 2) * 0.2;
  return { data, width: 48, height: 48 };
}
const energy = (d: Float32Array) => {
  let e = 0;
  for (let y = 0; y < 48; y++) for (let x = 1; x < 48; x++) e += Math.abs(d[y * 48 + x] - d[y * 48 + x - 1]);
  return e;
};
const mean = (d: Float32Array, from = 0, to = d.length) => d.subarray(from, to).reduce((a, b) => a + b, 0) / (to - from);

describe('degradations', () => {
  it('blur and low resolution remove detail, JPEG loses more at lower quality; the mean stays', () => {
    for (const f of [(g: GrayFloat) => applyBlur(g, 1.5), (g: GrayFloat) => applyDownUp(g, 24)]) {
      const g = face();
      const before = energy(g.data);
      f(g);
      expect(energy(g.data)).toBeLessThan(0.8 * before);
      expect(Math.abs(mean(g.data) - mean(face().data))).toBeLessThan(0.02);
    }
    const jpegError = (q: number) => {
      const g = face();
      applyJpeg(g, q);
      expect(Math.abs(mean(g.data) - mean(face().data))).toBeLessThan(0.02);
      return Math.sqrt(mean(g.data.map((v, i) => (v - face().data[i]) ** 2)));
    };
    // Quality 100 keeps the image to within about a gray level; 20 loses several.
    expect(jpegError(100)).toBeLessThan(1.5 / 255);
    expect(jpegError(20)).toBeGreaterThan(jpegError(80));
    expect(jpegError(20)).toBeGreaterThan(4 / 255);
  });
  it('gamma 2 darkens, noise has the asked spread, occluders cover the eyes and the mouth', () => {
    const g = face();
    applyGamma(g, 2);
    expect(mean(g.data)).toBeLessThan(mean(face().data) - 0.1);
    const flat: GrayFloat = { data: new Float32Array(48 * 48).fill(0.5), width: 48, height: 48 };
    applyNoise(flat, 15 / 255, new Rng(1));
    const sd = Math.sqrt(mean(flat.data.map((v) => (v - 0.5) ** 2)));
    expect(sd).toBeGreaterThan(13 / 255);
    expect(sd).toBeLessThan(17 / 255);
    const eyes = face();
    occludeEyes(eyes);
    expect(mean(eyes.data.filter((_, i) => i >= 15 * 48 && i < 21 * 48 && i % 48 >= 8 && i % 48 < 40))).toBeLessThan(0.1);
    const mouth = face();
    occludeMouth(mouth);
    expect(mean(mouth.data.filter((_, i) => i >= 32 * 48 && i % 48 >= 8 && i % 48 < 40))).toBeGreaterThan(0.75);
  });
});

describe('robust augmentation', () => {
  it('degrades some images of a batch, the same on arrays and tensors, and leaves other configurations unchanged', () => {
    const n = 16;
    const src = new Float32Array(n * 2304);
    for (let i = 0; i < n; i++) src.set(face().data, i * 2304);
    const a = new Float32Array(src.length);
    const b = new Float32Array(src.length);
    augmentImagesInto(src, a, n, 48, 48, ROBUST_AUGMENT, new Rng(3));
    augmentImagesInto(src, b, n, 48, 48, ROBUST_AUGMENT, new Rng(3));
    expect(a).toEqual(b);
    const plain = new Float32Array(src.length);
    augmentImagesInto(src, plain, n, 48, 48, DETECTOR_AUGMENT, new Rng(3));
    // The degradations come after the other transforms, from their own seed: some images differ, some do not.
    let changed = 0;
    for (let i = 0; i < n; i++) if (a.subarray(i * 2304, (i + 1) * 2304).some((v, j) => v !== plain[i * 2304 + j])) changed++;
    expect(changed).toBeGreaterThan(0);
    expect(changed).toBeLessThan(n);
    // The tfjs path applies the same function after its own transforms.
    const x = tf.tensor4d(src, [n, 48, 48, 1]);
    const y = augmentBatch(x, { ...ROBUST_AUGMENT, degrade: { ...DEFAULT_DEGRADE, noise: 1 } }, new Rng(3));
    const z = augmentBatch(x, DETECTOR_AUGMENT, new Rng(3));
    expect(y.shape).toEqual([n, 48, 48, 1]);
    expect(Array.from(y.dataSync()).some((v, i) => v !== z.dataSync()[i])).toBe(true);
    tf.dispose([x, y, z]);
  });
});
