/**
 * Augmentation on plain arrays, without tfjs: the same transforms and the same parameter draws as
 * {@link augmentBatch} (rotation, zoom, shift and flip as one bilinear warp with edge clamping,
 * then brightness, contrast and random erasing), for trainers that keep tensors out of the loop
 * (the native backend). Single-channel images only. Erased rectangles are filled with noise drawn
 * from the same `rng`, so the whole batch is a function of the rng state.
 */
import type { AugmentConfig } from './config.ts';
import { degradeBatch } from './degrade.ts';
import { eraseRect, geometricTransform } from './geometry.ts';
import { Rng } from './rng.ts';

/**
 * Augment `n` grayscale images (n x height x width, values in 0..1) from `src` into `dst` (which
 * may not alias `src`). Deterministic for a given `rng` state.
 */
export function augmentImagesInto(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  height: number,
  width: number,
  cfg: AugmentConfig,
  rng: Rng,
): void {
  const per = height * width;
  if (src.length < n * per || dst.length < n * per)
    throw new Error(`augmentImagesInto: buffers hold fewer than ${n} images of ${height}x${width}`);
  if (src === dst || (src.buffer === dst.buffer && src.byteOffset === dst.byteOffset))
    throw new Error('augmentImagesInto: src and dst must differ');
  const geometric = cfg.rotation > 0 || cfg.flip > 0 || cfg.zoom > 0 || cfg.shift > 0 || (cfg.aspect ?? 0) > 0;
  for (let i = 0; i < n; i++) {
    const img = src.subarray(i * per, (i + 1) * per);
    const out = dst.subarray(i * per, (i + 1) * per);
    if (geometric) {
      const t = geometricTransform(width, height, {
        angleRad: (rng.uniform(-cfg.rotation, cfg.rotation) * Math.PI) / 180,
        scale: 1 + rng.uniform(-cfg.zoom, cfg.zoom),
        dx: rng.uniform(-cfg.shift, cfg.shift) * width,
        dy: rng.uniform(-cfg.shift, cfg.shift) * height,
        flip: rng.next() < cfg.flip,
        aspect: cfg.aspect ? Math.exp(rng.uniform(-cfg.aspect, cfg.aspect)) : 1,
      });
      warpBilinear(img, out, height, width, t);
    } else {
      out.set(img);
    }
    const contrast = 1 + rng.uniform(-cfg.contrast, cfg.contrast);
    const bias = rng.uniform(-cfg.brightness, cfg.brightness);
    if (cfg.contrast > 0 || cfg.brightness > 0) {
      let mean = 0;
      for (let p = 0; p < per; p++) mean += out[p];
      mean /= per;
      for (let p = 0; p < per; p++) {
        const v = (out[p] - mean) * contrast + mean + bias;
        out[p] = v < 0 ? 0 : v > 1 ? 1 : v;
      }
    }
    if (cfg.erase > 0 && rng.next() < cfg.erase) {
      const r = eraseRect(rng, width, height);
      for (let y = r.y0; y < r.y0 + r.h; y++) for (let x = r.x0; x < r.x0 + r.w; x++) out[y * width + x] = rng.next();
    }
  }
  // Degradations last, from their own seed (drawn only when they are on).
  if (cfg.degrade) degradeBatch(dst, n, height, width, cfg.degrade, new Rng(rng.int(2 ** 31)));
}

/**
 * Warp one image with tf.image.transform's convention (the 8 numbers map output to input pixels),
 * bilinear interpolation and 'nearest' fill (coordinates clamped to the edge), as tfjs computes it.
 */
export function warpBilinear(src: Float32Array, dst: Float32Array, height: number, width: number, t: readonly number[]): void {
  const [a0, a1, a2, b0, b1, b2, c0, c1] = t;
  for (let oy = 0; oy < height; oy++) {
    for (let ox = 0; ox < width; ox++) {
      const proj = c0 * ox + c1 * oy + 1;
      if (proj === 0) {
        dst[oy * width + ox] = 0;
        continue;
      }
      let x = (a0 * ox + a1 * oy + a2) / proj;
      let y = (b0 * ox + b1 * oy + b2) / proj;
      x = x < 0 ? 0 : x > width - 1 ? width - 1 : x;
      y = y < 0 ? 0 : y > height - 1 ? height - 1 : y;
      const x0 = Math.floor(x);
      const y0 = Math.floor(y);
      const fx = x - x0;
      const fy = y - y0;
      const x1 = x0 + 1;
      const y1 = y0 + 1;
      const r0 = y0 * width;
      const r1 = y1 * width;
      const inX1 = x1 < width;
      const inY1 = y1 < height;
      const v00 = src[r0 + x0];
      const v01 = inX1 ? src[r0 + x1] : 0;
      const v10 = inY1 ? src[r1 + x0] : 0;
      const v11 = inX1 && inY1 ? src[r1 + x1] : 0;
      // tfjs: (1 - fy)·top + fy·bottom, each row (1 - fx)·left + fx·right
      const top = (1 - fx) * v00 + fx * v01;
      const bottom = (1 - fx) * v10 + fx * v11;
      dst[oy * width + ox] = (1 - fy) * top + fy * bottom;
    }
  }
}
