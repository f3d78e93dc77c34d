import { describe, expect, it } from 'vitest';
import type { FaceResult } from '@emodetect/realtime';
import { drawAnnotations } from './annotate.ts';

const LABELS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const face = (x: number, y: number, w: number, h: number): FaceResult => ({
  box: { x, y, width: w, height: h },
  score: 0.9,
  keypoints: [],
  emotion: 'happy',
  probabilities: Object.fromEntries(LABELS.map((l) => [l, l === 'happy' ? 0.7 : 0.05])),
});

/** Rows and columns of the class panel's grey (dark on a light image; the label's black text is not counted). */
function darkened(data: Uint8Array | Buffer, width: number, height: number) {
  let minX = width;
  let maxX = -1;
  let minY = height;
  let maxY = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const o = (y * width + x) * 4;
      if ([0, 1, 2].every((c) => data[o + c]! > 60 && data[o + c]! < 90)) {
        minX = Math.min(minX, x);
        maxX = Math.max(maxX, x);
        minY = Math.min(minY, y);
        maxY = Math.max(maxY, y);
      }
    }
  return { minX, maxX, minY, maxY };
}

describe('annotated images', () => {
  it('draw a panel of named class bars beside the face, inside the image even at its edge', async () => {
    const width = 400;
    const height = 300;
    const light = () => ({ width, height, data: new Uint8Array(width * height * 4).fill(230) });
    // A face in the bottom-right corner: the panel goes to its left and stays inside the image.
    const corner = await drawAnnotations(light(), [face(300, 230, 90, 65)]);
    const a = darkened(corner.bitmap.data, width, height);
    expect(a.maxX).toBeLessThan(300);
    expect(a.minY).toBeGreaterThanOrEqual(0);
    expect(a.maxY).toBeLessThan(height);
    // Seven rows of at least 12 px: the whole panel is drawn, not cut at the bottom.
    expect(a.maxY - a.minY).toBeGreaterThan(7 * 12);
    // A face on the left: the panel goes to its right.
    const left = await drawAnnotations(light(), [face(10, 20, 90, 90)]);
    expect(darkened(left.bitmap.data, width, height).minX).toBeGreaterThan(100);
  });
});
