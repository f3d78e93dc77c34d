import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@emodetect/backend/node';
import { createNodeFaceDetector, iou, type FaceDetector } from '@emodetect/face-detect/node';
import { readFer2013, splitIndices, type ImageDataset } from '@emodetect/preprocess/node';
import { requireFer2013 } from '../../../tools/test-data.ts';
import {
  composeScene,
  createTileAnnotator,
  FACE_IN_TILE,
  LONE_FACE_SCENE,
  tileBoxInScene,
  type TileAnnotator,
} from '@emodetect/datasets/node';

let ds: ImageDataset;
let annotator: TileAnnotator;
let detector: FaceDetector;

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  ds = await readFer2013(requireFer2013());
  annotator = await createTileAnnotator();
  detector = await createNodeFaceDetector({ maxFaces: 1 });
});

describe('per-face ground truth from face-mesh landmarks', () => {
  it('fits the detector better than the one fixed box, on faces the calibration never saw', async () => {
    // PrivateTest faces (calibration used PublicTest), pasted alone and upright.
    const pool = splitIndices(ds, 'PrivateTest');
    const fixed: number[] = [];
    const own: number[] = [];
    for (let s = 0; s < 40; s++) {
      const scene = composeScene(ds, [pool[s]], 7000 + s, LONE_FACE_SCENE);
      const [d] = await detector.estimateFaces(scene.image);
      if (!d) continue;
      const face = annotator.annotate(ds, scene).faces[0];
      fixed.push(iou(d.box, tileBoxInScene(face, FACE_IN_TILE)));
      own.push(iou(d.box, face.faceBox));
    }
    const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
    console.info(
      `${own.length} faces: mean IoU with the detection, fixed box ${mean(fixed).toFixed(3)}, landmark box ${mean(own).toFixed(3)}`,
    );
    expect(own.length).toBeGreaterThanOrEqual(30);
    expect(mean(own)).toBeGreaterThan(mean(fixed) + 0.03);
    expect(own.filter((v) => v >= 0.5).length / own.length).toBeGreaterThanOrEqual(0.95);
  });

  it('gives no box for a tile that is not a face', () => {
    const blank: ImageDataset = {
      ...ds,
      count: 1,
      pixels: new Uint8Array(48 * 48).fill(128),
      labels: new Uint8Array(1),
      rowIds: Int32Array.from([0]),
    };
    expect(annotator.landmarkBox(blank, 0).score).toBeLessThan(0.5);
    expect(annotator.faceBox(blank, 0)).toBeUndefined();
  });
});
