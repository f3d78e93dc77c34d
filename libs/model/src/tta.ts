/**
 * Test-time augmentation: the views of each face that a model's prediction averages, declared by
 * its metadata (`tta`), so that every executor (tfjs, folded, native) averages the same ones.
 *
 * - `none`: the face as it is.
 * - `flip`: the face and its mirror image (2 views).
 * - `views`: the face shifted by 2 pixels in four directions and zoomed in and out by 10%, each
 *   also mirrored (14 views). Chosen on PublicTest, where it added 0.7 points to fer-base over
 *   `flip` (tools: tmp probes, see the model card); seven times the cost of `flip`.
 */
import type { TtaPolicy } from './metadata.ts';

interface View {
  dx: number;
  dy: number;
  zoom: number;
  flip: boolean;
}

const GEOMETRIES: Omit<View, 'flip'>[] = [
  { dx: 0, dy: 0, zoom: 1 },
  { dx: 2, dy: 0, zoom: 1 },
  { dx: -2, dy: 0, zoom: 1 },
  { dx: 0, dy: 2, zoom: 1 },
  { dx: 0, dy: -2, zoom: 1 },
  { dx: 0, dy: 0, zoom: 1.1 },
  { dx: 0, dy: 0, zoom: 0.9 },
];

/** The views of a policy (the first is always the face itself). */
export function ttaViews(policy: TtaPolicy): View[] {
  if (policy === 'none') return [{ dx: 0, dy: 0, zoom: 1, flip: false }];
  if (policy === 'flip')
    return [
      { dx: 0, dy: 0, zoom: 1, flip: false },
      { dx: 0, dy: 0, zoom: 1, flip: true },
    ];
  return GEOMETRIES.flatMap((g) => [
    { ...g, flip: false },
    { ...g, flip: true },
  ]);
}

/**
 * Write view `v` of `n` faces (n x height x width x channels, row-major) into `dst`: a shift by
 * (dx, dy) pixels and a zoom about the centre, nearest pixel with edges clamped, then a mirror.
 */
export function renderView(
  src: Float32Array,
  dst: Float32Array,
  n: number,
  height: number,
  width: number,
  channels: number,
  v: View,
): void {
  const cy = (height - 1) / 2;
  const cx = (width - 1) / 2;
  const xs = new Int32Array(width);
  const ys = new Int32Array(height);
  for (let x = 0; x < width; x++) {
    const ox = v.flip ? width - 1 - x : x;
    xs[x] = Math.min(width - 1, Math.max(0, Math.round((ox - cx) / v.zoom + cx - v.dx)));
  }
  for (let y = 0; y < height; y++) ys[y] = Math.min(height - 1, Math.max(0, Math.round((y - cy) / v.zoom + cy - v.dy)));
  const per = height * width * channels;
  for (let i = 0; i < n; i++)
    for (let y = 0; y < height; y++)
      for (let x = 0; x < width; x++)
        for (let c = 0; c < channels; c++)
          dst[i * per + (y * width + x) * channels + c] = src[i * per + (ys[y] * width + xs[x]) * channels + c];
}
