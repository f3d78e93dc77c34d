/** Detectors made of detectors: several models merged, and overlapping tiles for small faces. */
import * as tf from '@tensorflow/tfjs';
import { mergeFaces, iou, suppress } from './boxes.ts';
import { imageToTensor } from './detector.ts';
import type { Face, FaceDetector } from './types.ts';

/**
 * Run several detectors (e.g. short and full range) on each image and merge their faces: a face
 * overlapping a higher-scoring one by more than `maxOverlap` IoU is dropped. Finds more faces than
 * either detector alone, at the sum of their costs.
 */
export function combineDetectors(detectors: FaceDetector[], maxOverlap = 0.3): FaceDetector {
  if (detectors.length === 0) throw new Error('combineDetectors: no detector');
  const config = { ...detectors[0].config, maxFaces: Math.max(...detectors.map((d) => d.config.maxFaces)) };
  return {
    config,
    async estimateFaces(image, options) {
      const all = await Promise.all(detectors.map((d) => d.estimateFaces(image, options)));
      return mergeFaces(all.flat(), maxOverlap, config.maxFaces);
    },
    dispose() {
      for (const d of detectors) d.dispose();
    },
  };
}

export interface TileOptions {
  /** Tiles per side (default 2: four tiles). */
  grid?: number;
  /**
   * Tile side as a fraction of the image's shorter side; tiles overlap evenly. Default 0.75 for a
   * grid of 2 and 1.8 / grid above (0.6 for 3): on composed scenes with eight 90-120 px faces,
   * a 3x3 grid of 0.6 found more faces than 0.5 (faces cut by every tile) or 0.67.
   */
  tileFraction?: number;
  /** Also run on the whole image, for faces larger than a tile (default true). */
  wholeImage?: boolean;
  /** Faces overlapping a kept, higher-scoring face by more than this IoU are dropped (default 0.3). */
  maxOverlap?: number;
  /**
   * A second look at every candidate (default false). The tiles then only propose faces, down to
   * `proposalScore` and including faces cut by a tile's edge; each proposal is detected again in
   * a window `refineWindow` times its size, centred on it, where the face fills about half of the
   * detector's input, the size BlazeFace finds best. A proposal is kept as that second detection,
   * which must reach the detector's `minScore`, or else as it was if it is uncut and reached it
   * itself. Costs one more detector run per proposal; on
   * composed scenes with eight faces it found faces that every tile cut or shrank too far, and
   * placed boxes better (see BENCHMARKS.md).
   */
  refine?: boolean;
  /** Window side for `refine`, in multiples of the proposal's box (default 2). */
  refineWindow?: number;
  /** Lowest score of a proposal for `refine` (default 0.3). */
  proposalScore?: number;
}

/**
 * Cuts of an [h, w, 3] image as tensors, copied row by row from its pixels on the JS side: on the
 * wasm backend tf.slice of a 288-pixel tile takes about 4 ms, about half of a detector run.
 */
async function cropper(t: tf.Tensor3D): Promise<(x0: number, y0: number, width: number, height: number) => tf.Tensor3D> {
  const [, w] = t.shape;
  const pixels = await t.data<'int32' | 'float32'>();
  return (x0, y0, width, height) => {
    const out = pixels instanceof Int32Array ? new Int32Array(width * height * 3) : new Float32Array(width * height * 3);
    for (let y = 0; y < height; y++) out.set(pixels.subarray(((y0 + y) * w + x0) * 3, ((y0 + y) * w + x0 + width) * 3), y * width * 3);
    return tf.tensor3d(out, [height, width, 3], t.dtype as 'int32' | 'float32');
  };
}

type Crop = Awaited<ReturnType<typeof cropper>>;

/** A face from one tile, in image coordinates, and whether a tile's inner edge cut it. */
interface TileFace {
  face: Face;
  cut: boolean;
}

/** `face` moved by (dx, dy). */
function shifted(face: Face, dx: number, dy: number): Face {
  const { x, y, width, height } = face.box;
  return {
    ...face,
    box: { x: x + dx, y: y + dy, width, height },
    keypoints: face.keypoints.map((k) => ({ ...k, x: k.x + dx, y: k.y + dy })),
  };
}

/**
 * Run `detector` on overlapping square tiles of the image as well as on the whole of it, and merge
 * the faces. MediaPipe's detectors shrink the whole image to 128 (or 192) pixels, so faces under
 * about a quarter of the image's height get too small to find; in a tile they are larger. Costs
 * grid² + 1 detector runs per image, plus one per proposal with `refine`. Faces cut by a tile's
 * inner edge are left to other tiles (or, with `refine`, proposed for a second look).
 */
export function tileDetector(detector: FaceDetector, opts: TileOptions = {}): FaceDetector {
  const grid = opts.grid ?? 2;
  const fraction = opts.tileFraction ?? (grid <= 2 ? 0.75 : 1.8 / grid);
  const maxOverlap = opts.maxOverlap ?? 0.3;
  const refine = opts.refine ?? false;
  const window = opts.refineWindow ?? 2;
  const proposalScore = opts.proposalScore ?? 0.3;
  if (!Number.isInteger(grid) || grid < 1) throw new Error(`tileDetector: grid must be a positive integer, not ${grid}`);
  if (!(fraction > 0 && fraction <= 1)) throw new Error(`tileDetector: tileFraction must be in (0, 1], not ${fraction}`);
  if (!(window >= 1)) throw new Error(`tileDetector: refineWindow must be at least 1, not ${window}`);
  if (!(proposalScore > 0 && proposalScore < 1)) throw new Error(`tileDetector: proposalScore must be in (0, 1), not ${proposalScore}`);

  /** Every face of every tile and of the whole image, cut ones included, in image coordinates. */
  async function tileFaces(t: tf.Tensor3D, crop: Crop, minScore: number): Promise<TileFace[]> {
    const [h, w] = t.shape;
    const side = Math.max(1, Math.round(Math.min(w, h) * fraction));
    const all: TileFace[] =
      opts.wholeImage === false ? [] : (await detector.estimateFaces(t, { minScore })).map((face) => ({ face, cut: false }));
    const offsets = (len: number) => Array.from({ length: grid }, (_, i) => (grid === 1 ? 0 : Math.round(((len - side) * i) / (grid - 1))));
    for (const y0 of offsets(h)) {
      for (const x0 of offsets(w)) {
        const tile = crop(x0, y0, Math.min(side, w - x0), Math.min(side, h - y0));
        try {
          const [th, tw] = tile.shape;
          for (const f of await detector.estimateFaces(tile, { minScore })) {
            const { x, y, width, height } = f.box;
            // A face touching an edge of the tile that is not the image's edge is cut.
            const cut =
              (x < 2 && x0 > 0) || (y < 2 && y0 > 0) || (x + width > tw - 2 && x0 + tw < w) || (y + height > th - 2 && y0 + th < h);
            all.push({ face: shifted(f, x0, y0), cut });
          }
        } finally {
          tile.dispose();
        }
      }
    }
    return all;
  }

  /** The detector's face in a window `window` times the proposal's size around it, if any. */
  async function secondLook(t: tf.Tensor3D, crop: Crop, p: Face, minScore: number): Promise<Face | undefined> {
    const [h, w] = t.shape;
    const side = Math.max(1, Math.min(Math.round(Math.max(p.box.width, p.box.height) * window), w, h));
    const x0 = Math.round(Math.min(Math.max(0, p.box.x + p.box.width / 2 - side / 2), w - side));
    const y0 = Math.round(Math.min(Math.max(0, p.box.y + p.box.height / 2 - side / 2), h - side));
    const win = crop(x0, y0, side, side);
    try {
      let best: Face | undefined;
      let bestOverlap = 0.2;
      for (const f of await detector.estimateFaces(win, { minScore })) {
        const face = shifted(f, x0, y0);
        const overlap = iou(face.box, p.box);
        if (overlap > bestOverlap) [best, bestOverlap] = [face, overlap];
      }
      return best;
    } finally {
      win.dispose();
    }
  }

  return {
    config: detector.config,
    async estimateFaces(image, options = {}) {
      const minScore = options.minScore ?? detector.config.minScore;
      const t = image instanceof tf.Tensor ? image : imageToTensor(image);
      try {
        const crop = await cropper(t);
        if (!refine) {
          const faces = (await tileFaces(t, crop, minScore)).filter((f) => !f.cut).map((f) => f.face);
          return mergeFaces(faces, maxOverlap, detector.config.maxFaces);
        }
        // Proposals: whole faces rank before cut ones of the same place.
        const found = await tileFaces(t, crop, Math.min(proposalScore, minScore));
        const rank = (f: TileFace) => (f.cut ? f.face.score / 2 : f.face.score);
        const proposals = suppress(found, (f) => f.face.box, rank, maxOverlap, 4 * detector.config.maxFaces);
        const faces: Face[] = [];
        for (const p of proposals) {
          const again = await secondLook(t, crop, p.face, minScore);
          if (again) faces.push(again);
          else if (!p.cut && p.face.score >= minScore) faces.push(p.face);
        }
        return mergeFaces(faces, maxOverlap, detector.config.maxFaces);
      } finally {
        if (t !== image) t.dispose();
      }
    },
    dispose: () => detector.dispose(),
  };
}
