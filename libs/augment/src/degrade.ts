/**
 * Degradations of a face as cameras and the world produce them: bad light (gamma, a light from
 * one side), bad optics (blur, a low-resolution sensor, sensor noise) and things in front of the
 * face (sunglasses, a mask, any patch). Plain arrays of 0..1 grayscale pixels, no tfjs, so the
 * trainer's augmentation (`AugmentConfig.degrade`) and the robustness bench (`bench:robust`) apply
 * the very same functions: the bench with fixed strengths, training with random ones.
 */
import type { Rng } from './rng.ts';

/** A grayscale image of 0..1 floats, row-major, modified in place by every function here. */
export interface GrayFloat {
  data: Float32Array;
  width: number;
  height: number;
}

const clamp01 = (v: number) => (v < 0 ? 0 : v > 1 ? 1 : v);

/** Gamma: v ← v^g (g < 1 lifts shadows, g > 1 darkens). */
export function applyGamma(img: GrayFloat, g: number): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = Math.pow(clamp01(d[i]), g);
}

/** Brightness and contrast: v ← (v − mean)·contrast + mean·brightness, clamped. */
export function applyBrightnessContrast(img: GrayFloat, brightness: number, contrast: number): void {
  const d = img.data;
  let mean = 0;
  for (let i = 0; i < d.length; i++) mean += d[i];
  mean /= d.length;
  for (let i = 0; i < d.length; i++) d[i] = clamp01((d[i] - mean) * contrast + mean * brightness);
}

/**
 * A light from one side: the image is multiplied by a ramp from 1 − strength to 1 + strength
 * along the direction `angle` (radians; 0 = light from the right).
 */
export function applySideLight(img: GrayFloat, strength: number, angle: number): void {
  const { data: d, width: w, height: h } = img;
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  const norm = Math.abs(c) * (w - 1) + Math.abs(s) * (h - 1) || 1;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const t = ((x - (w - 1) / 2) * c + (y - (h - 1) / 2) * s) / (norm / 2);
      d[y * w + x] = clamp01(d[y * w + x] * (1 + strength * t));
    }
}

/** Gaussian blur of standard deviation `sigma` pixels (separable, edges clamped). */
export function applyBlur(img: GrayFloat, sigma: number): void {
  if (sigma <= 0) return;
  const { data: d, width: w, height: h } = img;
  const r = Math.max(1, Math.ceil(3 * sigma));
  const k = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let i = -r; i <= r; i++) sum += k[i + r] = Math.exp(-(i * i) / (2 * sigma * sigma));
  for (let i = 0; i < k.length; i++) k[i] /= sum;
  const tmp = new Float32Array(d.length);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = -r; i <= r; i++) v += k[i + r] * d[y * w + Math.min(w - 1, Math.max(0, x + i))];
      tmp[y * w + x] = v;
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let v = 0;
      for (let i = -r; i <= r; i++) v += k[i + r] * tmp[Math.min(h - 1, Math.max(0, y + i)) * w + x];
      d[y * w + x] = v;
    }
}

/** Bilinear sample of `src` (w x h) at (x, y), edges clamped. */
function sample(src: Float32Array, w: number, h: number, x: number, y: number): number {
  x = x < 0 ? 0 : x > w - 1 ? w - 1 : x;
  y = y < 0 ? 0 : y > h - 1 ? h - 1 : y;
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const x1 = Math.min(w - 1, x0 + 1);
  const y1 = Math.min(h - 1, y0 + 1);
  const fx = x - x0;
  const fy = y - y0;
  const top = src[y0 * w + x0] * (1 - fx) + src[y0 * w + x1] * fx;
  const bottom = src[y1 * w + x0] * (1 - fx) + src[y1 * w + x1] * fx;
  return top * (1 - fy) + bottom * fy;
}

/**
 * A low-resolution camera: down to `size` x `size` (area averaging) and back up (bilinear).
 */
export function applyDownUp(img: GrayFloat, size: number): void {
  const { data: d, width: w, height: h } = img;
  if (size >= w && size >= h) return;
  const small = new Float32Array(size * size);
  const sx = w / size;
  const sy = h / size;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const xa = Math.floor(x * sx);
      const xb = Math.max(xa + 1, Math.floor((x + 1) * sx));
      const ya = Math.floor(y * sy);
      const yb = Math.max(ya + 1, Math.floor((y + 1) * sy));
      let v = 0;
      for (let yy = ya; yy < yb; yy++) for (let xx = xa; xx < xb; xx++) v += d[yy * w + xx];
      small[y * size + x] = v / ((xb - xa) * (yb - ya));
    }
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) d[y * w + x] = sample(small, size, size, (x + 0.5) / sx - 0.5, (y + 0.5) / sy - 0.5);
}

/** Additive Gaussian noise of standard deviation `sigma` (0..1 units; σ 15 gray levels = 15/255). */
export function applyNoise(img: GrayFloat, sigma: number, rng: Rng): void {
  const d = img.data;
  for (let i = 0; i < d.length; i++) d[i] = clamp01(d[i] + sigma * rng.normal());
}

/** JPEG's luminance quantisation table (ITU T.81, Annex K), row-major. */
const JPEG_LUMA = [
  16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55, 14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62, 18, 22,
  37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92, 49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99,
];

/**
 * JPEG compression of a gray image at `quality` 1-100 (libjpeg's scaling of the standard table):
 * 8x8 blocks, DCT, quantisation and back, which is all JPEG loses on a gray image.
 */
export function applyJpeg(img: GrayFloat, quality: number): void {
  const { data: d, width: w, height: h } = img;
  const q = Math.max(1, Math.min(100, Math.round(quality)));
  const scale = q < 50 ? 5000 / q : 200 - 2 * q;
  const table = JPEG_LUMA.map((v) => Math.max(1, Math.min(255, Math.floor((v * scale + 50) / 100))));
  const cos = new Float64Array(64);
  for (let x = 0; x < 8; x++) for (let u = 0; u < 8; u++) cos[x * 8 + u] = Math.cos(((2 * x + 1) * u * Math.PI) / 16);
  const c = (u: number) => (u === 0 ? Math.SQRT1_2 : 1);
  const block = new Float64Array(64);
  const coef = new Float64Array(64);
  for (let by = 0; by < h; by += 8)
    for (let bx = 0; bx < w; bx += 8) {
      // Edge blocks repeat the last row and column, as encoders pad.
      for (let y = 0; y < 8; y++)
        for (let x = 0; x < 8; x++)
          block[y * 8 + x] = Math.round(255 * clamp01(d[Math.min(h - 1, by + y) * w + Math.min(w - 1, bx + x)])) - 128;
      for (let v = 0; v < 8; v++)
        for (let u = 0; u < 8; u++) {
          let sum = 0;
          for (let y = 0; y < 8; y++) for (let x = 0; x < 8; x++) sum += block[y * 8 + x] * cos[x * 8 + u] * cos[y * 8 + v];
          const k = v * 8 + u;
          coef[k] = Math.round((0.25 * c(u) * c(v) * sum) / table[k]) * table[k];
        }
      for (let y = 0; y < 8 && by + y < h; y++)
        for (let x = 0; x < 8 && bx + x < w; x++) {
          let sum = 0;
          for (let v = 0; v < 8; v++) for (let u = 0; u < 8; u++) sum += c(u) * c(v) * coef[v * 8 + u] * cos[x * 8 + u] * cos[y * 8 + v];
          d[(by + y) * w + bx + x] = clamp01(Math.round(0.25 * sum + 128) / 255);
        }
    }
}

/** Fill a rectangle (fractions of the image, clipped) with `value` plus a little texture. */
function fillRect(img: GrayFloat, x0: number, y0: number, x1: number, y1: number, value: number, texture: number, rng?: Rng): void {
  const { data: d, width: w, height: h } = img;
  const ax = Math.max(0, Math.round(x0 * w));
  const bx = Math.min(w, Math.round(x1 * w));
  const ay = Math.max(0, Math.round(y0 * h));
  const by = Math.min(h, Math.round(y1 * h));
  for (let y = ay; y < by; y++)
    for (let x = ax; x < bx; x++) d[y * w + x] = clamp01(value + (rng && texture > 0 ? texture * (rng.next() - 0.5) : 0));
}

/**
 * Sunglasses: a dark band over both eyes. `top` is the band's upper edge as a fraction of the
 * crop's height (the eyes of a detector crop sit at about 0.3-0.45), `height` its height.
 */
export function occludeEyes(img: GrayFloat, top = 0.27, height = 0.19, value = 0.06, rng?: Rng): void {
  fillRect(img, 0.1, top, 0.9, top + height, value, 0.04, rng);
}

/** A face mask: a light area over the nose tip, mouth and chin, from `top` (fraction of the height) down. */
export function occludeMouth(img: GrayFloat, top = 0.6, value = 0.85, rng?: Rng): void {
  fillRect(img, 0.12, top, 0.88, 1, value, 0.06, rng);
}

/** A patch of constant gray: a hand, a cup, a microphone. Position and size are fractions of the image. */
export function occludePatch(img: GrayFloat, x: number, y: number, size: number, value: number): void {
  fillRect(img, x, y, x + size, y + size, value, 0);
}

/**
 * Random degradations for training, each applied to an image with its probability, in a fixed
 * order (light, optics, occluders). All 0 = off.
 */
export interface DegradeConfig {
  /** Gamma in [1/2.2, 2.2] (log-uniform). */
  gamma: number;
  /** A side light of strength 0.2-0.6 from a random direction. */
  sideLight: number;
  /** Gaussian blur, σ 0.4-2 pixels. */
  blur: number;
  /** Down to 12-32 pixels and back up. */
  lowRes: number;
  /** Gaussian noise, σ 0.01-0.09 (3-23 gray levels). */
  noise: number;
  /** One occluder: sunglasses, a mask or a gray patch, with equal odds. */
  occlude: number;
}

/** Strengths used by `--augment robust`: about half the faces get at least one degradation. */
export const DEFAULT_DEGRADE: DegradeConfig = { gamma: 0.15, sideLight: 0.1, blur: 0.12, lowRes: 0.1, noise: 0.15, occlude: 0.12 };

/** Apply random degradations (see {@link DegradeConfig}) to one image, drawing from `rng`. */
export function degradeRandomly(img: GrayFloat, cfg: DegradeConfig, rng: Rng): void {
  if (rng.next() < cfg.gamma) applyGamma(img, Math.exp(rng.uniform(-Math.log(2.2), Math.log(2.2))));
  if (rng.next() < cfg.sideLight) applySideLight(img, rng.uniform(0.2, 0.6), rng.uniform(0, 2 * Math.PI));
  if (rng.next() < cfg.blur) applyBlur(img, rng.uniform(0.4, 2));
  if (rng.next() < cfg.lowRes) applyDownUp(img, 12 + rng.int(21));
  if (rng.next() < cfg.noise) applyNoise(img, rng.uniform(0.01, 0.09), rng);
  if (rng.next() < cfg.occlude) {
    const kind = rng.int(3);
    if (kind === 0) occludeEyes(img, rng.uniform(0.22, 0.32), rng.uniform(0.14, 0.22), rng.uniform(0, 0.15), rng);
    else if (kind === 1) occludeMouth(img, rng.uniform(0.55, 0.68), rng.uniform(0.5, 1), rng);
    else {
      const size = rng.uniform(0.2, 0.4);
      occludePatch(img, rng.uniform(0, 1 - size), rng.uniform(0, 1 - size), size, rng.next());
    }
  }
}

/** {@link degradeRandomly} on each of `n` images of a batch (n x height x width), in order. */
export function degradeBatch(data: Float32Array, n: number, height: number, width: number, cfg: DegradeConfig, rng: Rng): void {
  const per = height * width;
  for (let i = 0; i < n; i++) degradeRandomly({ data: data.subarray(i * per, (i + 1) * per), width, height }, cfg, rng);
}
