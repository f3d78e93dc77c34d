/**
 * @emodetect/augment: seeded, batch-wise augmentation of [batch, height, width, channels]
 * tensors, on whatever tfjs backend trains. Geometric transforms (rotation, zoom, shift,
 * horizontal flip) are composed into one projective transform per image and applied with a single
 * `tf.image.transform`; photometric ones (brightness, contrast) and random erasing are
 * element-wise. Random parameters are drawn in JavaScript from a seeded {@link Rng}, so the same
 * seed gives the same batch on every backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from './rng.ts';

export { Rng } from './rng.ts';
export { geometricTransform } from './geometry.ts';
export { augmentImagesInto, warpBilinear } from './arrays.ts';
export { mixup, mixupSeed, type MixupBatch } from './mixup.ts';
import { eraseRect, geometricTransform } from './geometry.ts';

export { DEFAULT_AUGMENT, DETECTOR_AUGMENT, NO_AUGMENT, ROBUST_AUGMENT, type AugmentConfig } from './config.ts';
export {
  DEFAULT_DEGRADE,
  applyBlur,
  applyBrightnessContrast,
  applyDownUp,
  applyGamma,
  applyJpeg,
  applyNoise,
  applySideLight,
  degradeBatch,
  degradeRandomly,
  occludeEyes,
  occludeMouth,
  occludePatch,
  type DegradeConfig,
  type GrayFloat,
} from './degrade.ts';
import { degradeBatch } from './degrade.ts';
import type { AugmentConfig } from './config.ts';

/**
 * Augment a batch of images [n, h, w, c] with values in 0..1. Returns a new tensor (the input is
 * not disposed). Deterministic for a given `rng` state.
 */
export function augmentBatch(x: tf.Tensor4D, cfg: AugmentConfig, rng: Rng): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const geometric = cfg.rotation > 0 || cfg.flip > 0 || cfg.zoom > 0 || cfg.shift > 0 || (cfg.aspect ?? 0) > 0;
  const transforms: number[] = [];
  const bias = new Float32Array(n);
  const contrast = new Float32Array(n);
  const eraseMask = cfg.erase > 0 ? new Float32Array(n * h * w).fill(1) : null;
  for (let i = 0; i < n; i++) {
    if (geometric) {
      transforms.push(
        ...geometricTransform(w, h, {
          angleRad: (rng.uniform(-cfg.rotation, cfg.rotation) * Math.PI) / 180,
          scale: 1 + rng.uniform(-cfg.zoom, cfg.zoom),
          dx: rng.uniform(-cfg.shift, cfg.shift) * w,
          dy: rng.uniform(-cfg.shift, cfg.shift) * h,
          flip: rng.next() < cfg.flip,
          aspect: cfg.aspect ? Math.exp(rng.uniform(-cfg.aspect, cfg.aspect)) : 1,
        }),
      );
    }
    contrast[i] = 1 + rng.uniform(-cfg.contrast, cfg.contrast);
    bias[i] = rng.uniform(-cfg.brightness, cfg.brightness);
    if (eraseMask && rng.next() < cfg.erase) {
      const r = eraseRect(rng, w, h);
      for (let y = r.y0; y < r.y0 + r.h; y++) eraseMask.fill(0, i * h * w + y * w + r.x0, i * h * w + y * w + r.x0 + r.w);
    }
  }
  return tf.tidy(() => {
    let y: tf.Tensor4D = geometric ? tf.image.transform(x, tf.tensor2d(transforms, [n, 8]), 'bilinear', 'nearest') : tf.clone(x);
    if (cfg.contrast > 0 || cfg.brightness > 0) {
      const mean = tf.mean(y, [1, 2, 3], true);
      const c = tf.tensor4d(contrast, [n, 1, 1, 1]);
      const b = tf.tensor4d(bias, [n, 1, 1, 1]);
      y = tf.clipByValue(tf.add(tf.add(tf.mul(tf.sub(y, mean), c), mean), b), 0, 1) as tf.Tensor4D;
    }
    if (eraseMask) {
      const m = tf.tensor4d(eraseMask, [n, h, w, 1]);
      const noise = tf.randomUniform([n, h, w, 1], 0, 1, 'float32', rng.int(2 ** 31));
      y = tf.add(tf.mul(y, m), tf.mul(noise, tf.sub(1, m))) as tf.Tensor4D;
    }
    if (cfg.degrade) {
      // Degradations last, on plain arrays (the same function as the native path), from their own seed.
      if (x.shape[3] !== 1) throw new Error('augmentBatch: degradations need single-channel images');
      const data = y.dataSync().slice() as Float32Array;
      degradeBatch(data, n, h, w, cfg.degrade, new Rng(rng.int(2 ** 31)));
      y = tf.tensor4d(data, y.shape);
    }
    return y;
  });
}
