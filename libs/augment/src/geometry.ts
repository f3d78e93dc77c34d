/** Geometry shared by the tensor and the plain-array augmenters. */
import type { Rng } from './rng.ts';

/**
 * The rectangle random erasing covers (2%-25% of the area, aspect 0.3-3.3), drawn from `rng` in
 * the same order by both augmenters.
 */
export function eraseRect(rng: Rng, width: number, height: number): { x0: number; y0: number; w: number; h: number } {
  const area = rng.uniform(0.02, 0.25) * width * height;
  const aspect = Math.exp(rng.uniform(Math.log(0.3), Math.log(3.3)));
  const h = Math.min(height, Math.round(Math.sqrt(area * aspect)));
  const w = Math.min(width, Math.round(Math.sqrt(area / aspect)));
  const y0 = rng.int(height - h + 1);
  const x0 = rng.int(width - w + 1);
  return { x0, y0, w, h };
}

/** The projective transform (tf.image.transform's 8 numbers) mapping output to input pixels. */
export function geometricTransform(
  width: number,
  height: number,
  p: { angleRad: number; scale: number; dx: number; dy: number; flip: boolean; aspect?: number },
): number[] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const cos = Math.cos(p.angleRad) / p.scale;
  const sin = Math.sin(p.angleRad) / p.scale;
  const f = p.flip ? -1 : 1;
  // input = A (out - c) + c - shift, A = R(θ)/s · diag(f/a, a): the output is a times wider and
  // 1/a times taller than a plain zoom (a = 1 without an aspect change).
  const a = p.aspect ?? 1;
  const a00 = (cos * f) / a;
  const a01 = -sin * a;
  const a10 = (sin * f) / a;
  const a11 = cos * a;
  return [a00, a01, cx - p.dx - a00 * cx - a01 * cy, a10, a11, cy - p.dy - a10 * cx - a11 * cy, 0, 0];
}
