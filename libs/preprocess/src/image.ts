/** Isomorphic pixel operations: grayscale, resize, scaling to 0..1. No tfjs, no file system. */

/** An 8-bit single-channel image, row-major. */
export interface GrayImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** RGBA pixels as in `ImageData` or a jimp bitmap. */
export interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array | Uint8ClampedArray;
}

/** How raw pixels become model input; the model's metadata carries it. */
export interface InputConfig {
  /** Input height and width in pixels. */
  height: number;
  width: number;
  /** 1 = grayscale (ITU-R BT.601 luma). */
  channels: 1;
  /** input = (pixel / 255 - mean) / std, with pixel in 0..255. */
  mean: number;
  std: number;
}

/**
 * How a face is cut from a detector's box for the classifier: part of a model's preprocessing,
 * like its input size, so that every place that classifies detected faces cuts them alike.
 */
export interface CropConfig {
  /** Extra context around the detector's box, as a fraction of its size. */
  margin: number;
  /** Move the crop's centre along the face's vertical axis, as a fraction of the box height (negative = up). */
  shift: number;
  /** Rotate so that the eyes are level. */
  align: boolean;
}

/**
 * FER2013-like crops from MediaPipe's boxes: FER2013's crops are about 1.17 times the box and sit
 * higher on the face (fitted on PublicTest; see FACE_IN_TILE in @emodetect/datasets).
 */
export const DEFAULT_CROP: CropConfig = { margin: 0.17, shift: -0.12, align: true };

/** Luma (BT.601: 0.299 R + 0.587 G + 0.114 B), rounded; alpha is ignored. */
export function rgbaToGray(img: RgbaImage): GrayImage {
  const { width, height, data } = img;
  if (data.length !== width * height * 4) {
    throw new Error(`rgbaToGray: ${data.length} bytes for a ${width}x${height} RGBA image (expected ${width * height * 4})`);
  }
  const out = new Uint8Array(width * height);
  for (let i = 0, j = 0; i < out.length; i++, j += 4) {
    out[i] = (299 * data[j] + 587 * data[j + 1] + 114 * data[j + 2] + 500) / 1000;
  }
  return { width, height, data: out };
}

/** A rectangle in pixel coordinates. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/**
 * Resize (and optionally crop) a grayscale image with bilinear sampling. When shrinking by more
 * than 2x the source is first box-averaged, so small outputs do not alias.
 */
export function resizeGray(img: GrayImage, outW: number, outH: number, crop?: Rect): GrayImage {
  const c = crop ?? { x: 0, y: 0, width: img.width, height: img.height };
  if (outW <= 0 || outH <= 0 || c.width <= 0 || c.height <= 0) {
    throw new Error(`resizeGray: empty size (${c.width}x${c.height} -> ${outW}x${outH})`);
  }
  let src = img;
  let cx = c.x;
  let cy = c.y;
  let cw = c.width;
  let ch = c.height;
  const factor = Math.floor(Math.min(cw / outW, ch / outH));
  if (factor >= 2) {
    src = boxDownsample(img, c, factor);
    cx = 0;
    cy = 0;
    cw = c.width / factor;
    ch = c.height / factor;
  }
  const out = new Uint8Array(outW * outH);
  const sx = cw / outW;
  const sy = ch / outH;
  for (let y = 0; y < outH; y++) {
    const fy = cy + (y + 0.5) * sy - 0.5;
    for (let x = 0; x < outW; x++) {
      const fx = cx + (x + 0.5) * sx - 0.5;
      out[y * outW + x] = Math.round(sample(src, fx, fy));
    }
  }
  return { width: outW, height: outH, data: out };
}

/** Bilinear sample with edge clamping. */
function sample(img: GrayImage, fx: number, fy: number): number {
  const { width: w, height: h, data } = img;
  const x0 = Math.floor(fx);
  const y0 = Math.floor(fy);
  const ax = fx - x0;
  const ay = fy - y0;
  const cx0 = clamp(x0, 0, w - 1);
  const cx1 = clamp(x0 + 1, 0, w - 1);
  const cy0 = clamp(y0, 0, h - 1);
  const cy1 = clamp(y0 + 1, 0, h - 1);
  const top = data[cy0 * w + cx0] * (1 - ax) + data[cy0 * w + cx1] * ax;
  const bottom = data[cy1 * w + cx0] * (1 - ax) + data[cy1 * w + cx1] * ax;
  return top * (1 - ay) + bottom * ay;
}

function boxDownsample(img: GrayImage, c: Rect, f: number): GrayImage {
  const w = Math.max(1, Math.floor(c.width / f));
  const h = Math.max(1, Math.floor(c.height / f));
  const out = new Uint8Array(w * h);
  const x0 = Math.round(c.x);
  const y0 = Math.round(c.y);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      for (let dy = 0; dy < f; dy++) {
        const yy = clamp(y0 + y * f + dy, 0, img.height - 1);
        for (let dx = 0; dx < f; dx++) sum += img.data[yy * img.width + clamp(x0 + x * f + dx, 0, img.width - 1)];
      }
      out[y * w + x] = Math.round(sum / (f * f));
    }
  }
  return { width: w, height: h, data: out };
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}

/** Scale 0..255 to 0..1 floats, appending into `out` at `offset` (allocates when `out` is absent). */
export function toUnitFloat(data: Uint8Array, out?: Float32Array, offset = 0): Float32Array {
  const dst = out ?? new Float32Array(data.length);
  for (let i = 0; i < data.length; i++) dst[offset + i] = data[i] / 255;
  return dst;
}

/**
 * The whole inference-time preprocessing of one image (or one face box in it), driven by the
 * model's {@link InputConfig}: grayscale → crop → resize → 0..1. Model-specific normalisation
 * (mean/std) is applied by the model library when it builds the tensor.
 */
export function prepareInput(img: GrayImage | RgbaImage, input: InputConfig, crop?: Rect): Float32Array {
  const gray = isGray(img) ? img : rgbaToGray(img);
  const sized =
    gray.width === input.width && gray.height === input.height && !crop ? gray : resizeGray(gray, input.width, input.height, crop);
  return toUnitFloat(sized.data);
}

/** Whether an image holds one byte per pixel (grayscale) rather than four (RGBA). */
export function isGray(img: GrayImage | RgbaImage): img is GrayImage {
  return img.data.length === img.width * img.height;
}

/**
 * Crop a rotated square from a grayscale image and resample it to `outW` x `outH` (bilinear,
 * box-filtered first when shrinking by 2x or more). The square has side `side` pixels, is centred
 * at (cx, cy) and rotated by `angle` radians (counter-clockwise in image coordinates, y down), so
 * that content rotated by `angle` comes out upright. Pixels outside the image repeat the edge.
 */
export function warpCropGray(img: GrayImage, cx: number, cy: number, side: number, angle: number, outW: number, outH: number): GrayImage {
  if (side <= 0 || outW <= 0 || outH <= 0) throw new Error(`warpCropGray: empty crop (side ${side}, output ${outW}x${outH})`);
  let src = img;
  let scale = 1;
  const factor = Math.floor(side / Math.max(outW, outH));
  if (factor >= 2) {
    // Downsample the axis-aligned bounds of the rotated square, then warp in reduced coordinates.
    const r = (side / 2) * (Math.abs(Math.cos(angle)) + Math.abs(Math.sin(angle)));
    const x0 = Math.max(0, Math.floor(cx - r));
    const y0 = Math.max(0, Math.floor(cy - r));
    const x1 = Math.min(img.width, Math.ceil(cx + r));
    const y1 = Math.min(img.height, Math.ceil(cy + r));
    if (x1 - x0 >= factor && y1 - y0 >= factor) {
      src = boxDownsample(img, { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, factor);
      cx = (cx - x0) / factor;
      cy = (cy - y0) / factor;
      scale = factor;
    }
  }
  const s = side / scale;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const out = new Uint8Array(outW * outH);
  for (let y = 0; y < outH; y++) {
    const v = ((y + 0.5) / outH - 0.5) * s;
    for (let x = 0; x < outW; x++) {
      const u = ((x + 0.5) / outW - 0.5) * s;
      out[y * outW + x] = Math.round(sample(src, cx + u * cos - v * sin - 0.5, cy + u * sin + v * cos - 0.5));
    }
  }
  return { width: outW, height: outH, data: out };
}
