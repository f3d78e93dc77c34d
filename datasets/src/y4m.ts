/**
 * YUV4MPEG2 (`.y4m`) video from RGBA frames: the format Chromium's fake camera plays
 * (`--use-file-for-fake-video-capture=<file>.y4m`). 4:2:0 chroma, BT.601 limited range, which is
 * what Chromium expects when it converts the frames back to RGB.
 */
import type { RgbaImage } from '@emodetect/preprocess';

/** The stream header for frames of `width` x `height` at `fps`. Width and height must be even. */
export function y4mHeader(width: number, height: number, fps: number): string {
  if (width % 2 || height % 2) throw new Error(`y4m: frame size must be even, got ${width}x${height}`);
  return `YUV4MPEG2 W${width} H${height} F${Math.round(fps)}:1 Ip A1:1 C420jpeg\n`;
}

/** One frame (`FRAME\n` + Y, U and V planes) of an RGBA image. */
export function y4mFrame(img: RgbaImage): Uint8Array {
  const { width: w, height: h, data } = img;
  const tag = new TextEncoder().encode('FRAME\n');
  const out = new Uint8Array(tag.length + w * h + (w * h) / 2);
  out.set(tag, 0);
  const Y = tag.length;
  const U = Y + w * h;
  const V = U + (w * h) / 4;
  for (let i = 0; i < w * h; i++) {
    const r = data[4 * i];
    const g = data[4 * i + 1];
    const b = data[4 * i + 2];
    out[Y + i] = Math.round(16 + (65.481 * r + 128.553 * g + 24.966 * b) / 255);
  }
  for (let y = 0; y < h; y += 2) {
    for (let x = 0; x < w; x += 2) {
      let r = 0;
      let g = 0;
      let b = 0;
      for (const [dx, dy] of [
        [0, 0],
        [1, 0],
        [0, 1],
        [1, 1],
      ]) {
        const o = 4 * ((y + dy) * w + x + dx);
        r += data[o] / 4;
        g += data[o + 1] / 4;
        b += data[o + 2] / 4;
      }
      const j = (y / 2) * (w / 2) + x / 2;
      out[U + j] = Math.round(128 + (-37.797 * r - 74.203 * g + 112 * b) / 255);
      out[V + j] = Math.round(128 + (112 * r - 93.786 * g - 18.214 * b) / 255);
    }
  }
  return out;
}

/** A whole `.y4m` file from frames of equal size. */
export function encodeY4m(frames: readonly RgbaImage[], fps: number): Uint8Array {
  if (frames.length === 0) throw new Error('y4m: no frames');
  const { width, height } = frames[0];
  const parts: Uint8Array[] = [new TextEncoder().encode(y4mHeader(width, height, fps))];
  for (const f of frames) {
    if (f.width !== width || f.height !== height) throw new Error(`y4m: frame of ${f.width}x${f.height} in a ${width}x${height} stream`);
    parts.push(y4mFrame(f));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
