import { describe, expect, it } from 'vitest';
import type { ImageDataset } from '@emodetect/preprocess';
import { composeScene, DEFAULT_SCENE, FACE_IN_TILE, tileBoxInScene, withFaceBoxes } from './index.ts';

const ds: ImageDataset = {
  width: 48,
  height: 48,
  count: 3,
  pixels: Uint8Array.from({ length: 3 * 2304 }, (_, i) => (i * 13) % 256),
  labels: Uint8Array.from([0, 3, 6]),
  classNames: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
  splits: new Uint8Array(3),
  splitNames: ['all'],
  origins: ['a', 'b', 'c'],
  rowIds: Int32Array.from([0, 1, 2]),
};

describe('composeScene', () => {
  it('is deterministic per seed and labels every face', () => {
    const a = composeScene(ds, [0, 1, 2], 11);
    const b = composeScene(ds, [0, 1, 2], 11);
    expect(a.faces).toEqual(b.faces);
    expect(Buffer.from(a.image.data).equals(Buffer.from(b.image.data))).toBe(true);
    expect(a.faces.length).toBeGreaterThanOrEqual(DEFAULT_SCENE.minFaces);
    for (const f of a.faces) expect(f.emotion).toBe(ds.classNames[ds.labels[f.index]]);
  });

  it('keeps tiles inside the canvas and apart, and places the face box by FACE_IN_TILE', () => {
    for (let s = 0; s < 20; s++) {
      const { faces, image } = composeScene(ds, [0, 1, 2], s, { ...DEFAULT_SCENE, rotation: 0 });
      expect(image.data.length).toBe(640 * 480 * 4);
      faces.forEach((f, i) => {
        expect(f.box.x).toBeGreaterThanOrEqual(0);
        expect(f.box.y + f.box.height).toBeLessThanOrEqual(480);
        expect(f.faceBox.x).toBeCloseTo(f.box.x + FACE_IN_TILE.x * f.box.width, 6);
        expect(f.faceBox.y).toBeCloseTo(f.box.y + FACE_IN_TILE.y * f.box.height, 6);
        for (const g of faces.slice(i + 1)) {
          const apart =
            f.box.x + f.box.width <= g.box.x ||
            g.box.x + g.box.width <= f.box.x ||
            f.box.y + f.box.height <= g.box.y ||
            g.box.y + g.box.height <= f.box.y;
          expect(apart).toBe(true);
        }
      });
    }
  });

  it('pastes the face pixels: an upright tile reproduces its source', () => {
    const { faces, image } = composeScene(ds, [1], 5, {
      ...DEFAULT_SCENE,
      minFaces: 1,
      maxFaces: 1,
      minSize: 48,
      maxSize: 48,
      rotation: 0,
      occlusion: 0,
    });
    const { x, y } = faces[0].box;
    for (const [u, v] of [
      [5, 5],
      [20, 30],
      [40, 10],
    ]) {
      expect(image.data[((y + v) * 640 + x + u) * 4]).toBe(ds.pixels[2304 + v * 48 + u]);
    }
  });
});

describe('ground-truth boxes from tile fractions', () => {
  it('maps a tile box to scene pixels, turning its centre with the tile', () => {
    const face = { box: { x: 100, y: 50, width: 200, height: 200 }, rotation: 0 };
    expect(tileBoxInScene(face, { x: 0.1, y: 0.2, width: 0.5, height: 0.6 })).toEqual({ x: 120, y: 90, width: 100, height: 120 });
    // A box right of the tile's centre moves below it when the tile turns 90 degrees clockwise.
    const turned = tileBoxInScene({ ...face, rotation: 90 }, { x: 0.75, y: 0.45, width: 0.1, height: 0.1 });
    expect(turned.x + turned.width / 2).toBeCloseTo(200, 6);
    expect(turned.y + turned.height / 2).toBeCloseTo(150 + 60, 6);
  });

  it('replaces the fixed box only for faces that have their own', () => {
    const scene = composeScene(ds, [0, 1, 2], 3, { ...DEFAULT_SCENE, minFaces: 3, maxFaces: 3, minSize: 100, maxSize: 120 });
    const own = { x: 0.2, y: 0.25, width: 0.6, height: 0.55 };
    const annotated = withFaceBoxes(scene, (index) => (index === scene.faces[0].index ? own : undefined));
    annotated.faces.forEach((f, i) => {
      const mine = f.index === scene.faces[0].index;
      expect(f.faceBoxSource).toBe(mine ? 'landmarks' : 'fixed');
      expect(f.faceBox).toEqual(mine ? tileBoxInScene(f, own) : scene.faces[i].faceBox);
    });
    expect(scene.faces.every((f) => f.faceBoxSource === 'fixed')).toBe(true);
  });
});
