/** Box maths: intersection over union and non-maximum suppression. */
import type { Face, FaceBox } from './types.ts';

/**
 * Non-maximum suppression: faces by descending score, each kept unless it overlaps a kept face by
 * more than `maxOverlap` (IoU); at most `maxFaces`.
 */
export function mergeFaces(faces: readonly Face[], maxOverlap: number, maxFaces: number): Face[] {
  return suppress(
    faces,
    (f) => f.box,
    (f) => f.score,
    maxOverlap,
    maxFaces,
  );
}

/** {@link mergeFaces} for any item with a box and a rank: by descending rank, each kept unless it overlaps a kept one. */
export function suppress<T>(
  items: readonly T[],
  box: (item: T) => FaceBox,
  rank: (item: T) => number,
  maxOverlap: number,
  max: number,
): T[] {
  const kept: T[] = [];
  for (const item of [...items].sort((a, b) => rank(b) - rank(a)))
    if (kept.every((k) => iou(box(k), box(item)) <= maxOverlap)) kept.push(item);
  return kept.slice(0, max);
}

/** Intersection over union of two boxes. */
export function iou(a: FaceBox, b: FaceBox): number {
  const x0 = Math.max(a.x, b.x);
  const y0 = Math.max(a.y, b.y);
  const x1 = Math.min(a.x + a.width, b.x + b.width);
  const y1 = Math.min(a.y + a.height, b.y + b.height);
  const inter = Math.max(0, x1 - x0) * Math.max(0, y1 - y0);
  const union = a.width * a.height + b.width * b.height - inter;
  return union > 0 ? inter / union : 0;
}
