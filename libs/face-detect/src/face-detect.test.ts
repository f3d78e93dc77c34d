import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE, type SceneOptions } from '@emodetect/datasets';
import { readFer2013, splitIndices, type ImageDataset } from '@emodetect/preprocess/node';
import { requireFer2013 } from '../../../tools/test-data.ts';
import { KEYPOINT_NAMES, createNodeFaceDetector, iou, tileDetector, type FaceBox, type FaceDetector } from './node.ts';

let ds: ImageDataset;
let pool: number[];
let detector: FaceDetector;
const INPUT = { width: 48, height: 48, channels: 1 as const, mean: 0, std: 1 };
// One large face per scene, as from a webcam at arm's length.
const SELFIE: SceneOptions = { ...DEFAULT_SCENE, minFaces: 1, maxFaces: 1, minSize: 180, maxSize: 280, occlusion: 0 };

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  ds = await readFer2013(requireFer2013());
  pool = splitIndices(ds, 'PrivateTest');
  detector = await createNodeFaceDetector({ maxFaces: 5 });
});

describe('face detection on composed scenes (model files read from disk, offline)', () => {
  it('returns typed faces: box, score and the six keypoints', async () => {
    const scene = composeScene(ds, pool, 2000, SELFIE);
    const faces = await detector.estimateFaces(scene.image);
    expect(faces.length).toBeGreaterThan(0);
    const f = faces[0];
    expect(f.score).toBeGreaterThanOrEqual(0.5);
    expect(f.score).toBeLessThanOrEqual(1);
    expect(f.keypoints.map((k) => k.name)).toEqual([...KEYPOINT_NAMES]);
    expect(iou(f.box, scene.faces[0].faceBox)).toBeGreaterThan(0.5);
  });

  it('finds most single large faces with IoU >= 0.5', async () => {
    let found = 0;
    for (let s = 0; s < 40; s++) {
      const scene = composeScene(ds, pool, 2000 + s, SELFIE);
      const faces = await detector.estimateFaces(scene.image);
      if (faces.some((d) => iou(d.box, scene.faces[0].faceBox) >= 0.5)) found++;
    }
    console.info(`short-range detector: ${found}/40 single large faces found with IoU >= 0.5`);
    expect(found / 40).toBeGreaterThanOrEqual(0.8);
  });

  it('finds no face in a background without faces', async () => {
    for (let s = 0; s < 5; s++) {
      const empty = composeScene(ds, pool, 3000 + s, { ...DEFAULT_SCENE, minFaces: 0, maxFaces: 0 });
      expect(await detector.estimateFaces(empty.image)).toEqual([]);
    }
  });
});

describe('the score threshold', () => {
  it("takes effect below the decoder's own cut (0.5 short range, 0.6 full range)", async () => {
    for (const model of ['short', 'full'] as const) {
      const low = await createNodeFaceDetector({ model, maxFaces: 10, minScore: 0.3 });
      const scores: number[] = [];
      for (let s = 0; s < 6; s++) {
        const scene = composeScene(ds, pool, 4000 + s, { ...DEFAULT_SCENE, minFaces: 4, maxFaces: 4 });
        scores.push(...(await low.estimateFaces(scene.image)).map((f) => f.score));
      }
      low.dispose();
      expect(Math.min(...scores)).toBeGreaterThanOrEqual(0.3);
      expect(scores.some((x) => x < (model === 'short' ? 0.5 : 0.6))).toBe(true);
    }
  });

  it('can be set per call, and the next call is back to the default', async () => {
    const low: number[] = [];
    for (let s = 0; s < 6; s++) {
      const scene = composeScene(ds, pool, 4000 + s, { ...DEFAULT_SCENE, minFaces: 4, maxFaces: 4 });
      const before = await detector.estimateFaces(scene.image);
      low.push(...(await detector.estimateFaces(scene.image, { minScore: 0.3 })).map((f) => f.score));
      const after = await detector.estimateFaces(scene.image);
      expect(after).toEqual(before);
      for (const f of after) expect(f.score).toBeGreaterThanOrEqual(detector.config.minScore);
    }
    expect(Math.min(...low)).toBeGreaterThanOrEqual(0.3);
    expect(low.some((x) => x < 0.5)).toBe(true);
  });
});

describe('combined short- and full-range detection', () => {
  it('finds at least what short range finds, without duplicate boxes', async () => {
    const both = await createNodeFaceDetector({ model: 'both' });
    const three: SceneOptions = { ...DEFAULT_SCENE, minFaces: 3, maxFaces: 3, minSize: 130, maxSize: 180, occlusion: 0 };
    let shortFound = 0;
    let bothFound = 0;
    for (let s = 0; s < 10; s++) {
      const scene = composeScene(ds, pool, 6000 + s, three);
      const a = await detector.estimateFaces(scene.image);
      const b = await both.estimateFaces(scene.image);
      for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) expect(iou(b[i].box, b[j].box)).toBeLessThanOrEqual(0.3);
      for (const f of scene.faces) {
        if (a.some((d) => iou(d.box, f.faceBox) >= 0.5)) shortFound++;
        if (b.some((d) => iou(d.box, f.faceBox) >= 0.5)) bothFound++;
      }
    }
    expect(bothFound).toBeGreaterThanOrEqual(shortFound);
    both.dispose();
  });
});

describe('tiled detection', () => {
  it('finds small faces the whole-frame pass misses, in image coordinates, without duplicates', async () => {
    // Base with no limit of its own below the scene's face count; dispose of it separately.
    const base = await createNodeFaceDetector({ maxFaces: 10 });
    const tiled = tileDetector(base, { grid: 2 });
    const eight: SceneOptions = { ...DEFAULT_SCENE, minFaces: 8, maxFaces: 8, minSize: 90, maxSize: 120, occlusion: 0 };
    let whole = 0;
    let tiles = 0;
    let total = 0;
    for (let s = 0; s < 4; s++) {
      const scene = composeScene(ds, pool, 7000 + s, eight);
      const a = await base.estimateFaces(scene.image);
      const b = await tiled.estimateFaces(scene.image);
      for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) expect(iou(b[i].box, b[j].box)).toBeLessThanOrEqual(0.3);
      for (const f of b) {
        for (const k of f.keypoints) {
          expect(k.x).toBeGreaterThanOrEqual(f.box.x - f.box.width);
          expect(k.x).toBeLessThanOrEqual(f.box.x + 2 * f.box.width);
        }
      }
      for (const f of scene.faces) {
        total++;
        if (a.some((d) => iou(d.box, f.faceBox) >= 0.5)) whole++;
        if (b.some((d) => iou(d.box, f.faceBox) >= 0.5)) tiles++;
      }
    }
    // Whole frames find almost none of these 90-120 px faces (bench:latency: 4%); tiles find most.
    expect(tiles).toBeGreaterThanOrEqual(whole + total / 3);
    base.dispose();
  });

  it("with refine, finds faces that every tile cuts, and keeps only faces at the detector's minScore", async () => {
    const base = await createNodeFaceDetector({ maxFaces: 10 });
    const plain = tileDetector(base, { grid: 3 });
    const refined = tileDetector(base, { grid: 3, refine: true });
    // A 3x3 grid on 640x480 has 288 px tiles at x 0, 176, 352 and y 0, 96, 192.
    const inSomeTile = (b: FaceBox) =>
      [0, 176, 352].some((x0) =>
        [0, 96, 192].some((y0) => b.x >= x0 && b.y >= y0 && b.x + b.width <= x0 + 288 && b.y + b.height <= y0 + 288),
      );
    const three: SceneOptions = { ...DEFAULT_SCENE, minFaces: 3, maxFaces: 3, minSize: 150, maxSize: 180, rotation: 0, occlusion: 0 };
    let cut = 0;
    let plainFound = 0;
    let refinedFound = 0;
    for (let s = 0; s < 30; s++) {
      const scene = composeScene(ds, pool, 7200 + s, three);
      const everywhereCut = scene.faces.filter((f) => !inSomeTile(f.faceBox));
      if (everywhereCut.length === 0) continue;
      const a = await plain.estimateFaces(scene.image);
      const b = await refined.estimateFaces(scene.image);
      for (let i = 0; i < b.length; i++) for (let j = i + 1; j < b.length; j++) expect(iou(b[i].box, b[j].box)).toBeLessThanOrEqual(0.3);
      for (const f of b) expect(f.score).toBeGreaterThanOrEqual(base.config.minScore);
      for (const f of everywhereCut) {
        cut++;
        if (a.some((d) => iou(d.box, f.faceBox) >= 0.5)) plainFound++;
        if (b.some((d) => iou(d.box, f.faceBox) >= 0.5)) refinedFound++;
      }
    }
    console.info(`faces cut by every 3x3 tile: ${plainFound}/${cut} found by the tiles, ${refinedFound}/${cut} with refine`);
    expect(cut).toBeGreaterThanOrEqual(8);
    expect(refinedFound).toBeGreaterThanOrEqual(plainFound + 2);
    expect(refinedFound / cut).toBeGreaterThanOrEqual(0.75);
    base.dispose();
  });

  it('rejects a bad grid, tile size, window or proposal score with a clear message', () => {
    expect(() => tileDetector(detector, { grid: 0 })).toThrow(/grid must be a positive integer/);
    expect(() => tileDetector(detector, { tileFraction: 1.5 })).toThrow(/tileFraction must be in \(0, 1\]/);
    expect(() => tileDetector(detector, { refine: true, refineWindow: 0.5 })).toThrow(/refineWindow must be at least 1/);
    expect(() => tileDetector(detector, { refine: true, proposalScore: 0 })).toThrow(/proposalScore must be in \(0, 1\)/);
  });
});
