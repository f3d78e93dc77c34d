/**
 * @emodetect/datasets: synthetic scenes for testing and benchmarking detection. There are no
 * licence-free face photos here, so scenes are composed from FER2013 faces of known labels:
 * several faces, scaled, placed on textured backgrounds, some rotated or partly occluded. The
 * ground truth (box, label, source row) of every face comes with the image.
 */
import { Rng } from '@emodetect/augment';
import type { ImageDataset, Rect, RgbaImage } from '@emodetect/preprocess';

/** A box inside a face tile, in fractions of the tile's side (top-left corner, width, height). */
export type TileBox = Rect;

/**
 * Where MediaPipe's face box falls within an upright FER2013 tile, as fractions of the tile side:
 * the median over 195 PublicTest faces pasted alone at 220 px (measured with the short-range
 * detector by `npx tsx apps/bench/src/calibrate.ts`). FER tiles include hair and background, and
 * the detector's box runs from the brows to just below the chin. One box for every face: faces
 * sit differently in their tiles, so {@link annotateScene} (`@emodetect/datasets/node`) replaces
 * it with a box per face from facial landmarks.
 */
export const FACE_IN_TILE: TileBox = { x: 0.077, y: 0.175, width: 0.854, height: 0.854 };

export interface SceneFace {
  /** Axis-aligned box of the pasted face tile (before rotation), in scene pixels. */
  box: { x: number; y: number; width: number; height: number };
  /**
   * The face's ground-truth box in the detector's convention, its centre rotated with the tile:
   * {@link FACE_IN_TILE} from composeScene, or the face's own landmark box after annotateScene.
   * Score detections against this box.
   */
  faceBox: { x: number; y: number; width: number; height: number };
  /** Where `faceBox` comes from: the one fixed box for all tiles, or this face's landmarks. */
  faceBoxSource: 'fixed' | 'landmarks';
  /** Class index and name of the face in the source dataset. */
  label: number;
  emotion: string;
  /** Index of the face in the source dataset. */
  index: number;
  /** Rotation applied to the tile, degrees. */
  rotation: number;
  /** Whether a bar hides part of the face. */
  occluded: boolean;
}

export interface Scene {
  image: RgbaImage;
  faces: SceneFace[];
}

export interface SceneOptions {
  width: number;
  height: number;
  /** Faces per scene: uniform in [min, max]. */
  minFaces: number;
  maxFaces: number;
  /** Face tile side in pixels: uniform in [min, max]. */
  minSize: number;
  maxSize: number;
  /** Max rotation of a tile, degrees (uniform in ±). */
  rotation: number;
  /** Probability that a face is partly occluded by a bar over its lower part. */
  occlusion: number;
}

export const DEFAULT_SCENE: SceneOptions = {
  width: 640,
  height: 480,
  minFaces: 1,
  maxFaces: 4,
  minSize: 110,
  maxSize: 200,
  rotation: 12,
  occlusion: 0.15,
};

/**
 * One face alone, upright, unoccluded, at 220 px: the scenes on which FACE_IN_TILE and the
 * face-mesh mapping were calibrated (`apps/bench/src/calibrate.ts`), and on which that calibration is tested.
 */
export const LONE_FACE_SCENE: SceneOptions = {
  ...DEFAULT_SCENE,
  minFaces: 1,
  maxFaces: 1,
  minSize: 220,
  maxSize: 220,
  rotation: 0,
  occlusion: 0,
};

/** Smooth coloured noise plus a gradient: a background with texture but no faces. */
function background(w: number, h: number, rng: Rng): Uint8ClampedArray {
  const data = new Uint8ClampedArray(w * h * 4);
  const cell = 16 + rng.int(48);
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const grid = Array.from({ length: gw * gh * 3 }, () => rng.next());
  const base = [rng.uniform(40, 200), rng.uniform(40, 200), rng.uniform(40, 200)];
  const amp = rng.uniform(20, 70);
  const gx = rng.uniform(-0.15, 0.15);
  const gy = rng.uniform(-0.15, 0.15);
  for (let y = 0; y < h; y++) {
    const fy = y / cell;
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < w; x++) {
      const fx = x / cell;
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      for (let c = 0; c < 3; c++) {
        const g = (i: number, j: number) => grid[((j * gw + i) * 3 + c) % grid.length];
        const n = (g(x0, y0) * (1 - tx) + g(x0 + 1, y0) * tx) * (1 - ty) + (g(x0, y0 + 1) * (1 - tx) + g(x0 + 1, y0 + 1) * tx) * ty;
        data[(y * w + x) * 4 + c] = base[c] + amp * (n - 0.5) * 2 + gx * x + gy * y;
      }
      data[(y * w + x) * 4 + 3] = 255;
    }
  }
  return data;
}

function overlaps(a: SceneFace['box'], b: SceneFace['box'], pad: number): boolean {
  return a.x < b.x + b.width + pad && b.x < a.x + a.width + pad && a.y < b.y + b.height + pad && b.y < a.y + a.height + pad;
}

/** Compose one scene from faces of `ds` chosen among `pool` (dataset indices). Deterministic per seed. */
export function composeScene(ds: ImageDataset, pool: readonly number[], seed: number, opts: SceneOptions = DEFAULT_SCENE): Scene {
  const rng = new Rng(seed);
  const { width: w, height: h } = opts;
  const data = background(w, h, rng);
  const faces: SceneFace[] = [];
  const want = opts.minFaces + rng.int(opts.maxFaces - opts.minFaces + 1);
  const per = ds.width * ds.height;
  for (let attempt = 0; faces.length < want && attempt < 200; attempt++) {
    const size = Math.round(rng.uniform(opts.minSize, opts.maxSize));
    if (size > Math.min(w, h)) continue;
    const box = { x: rng.int(w - size + 1), y: rng.int(h - size + 1), width: size, height: size };
    // Rotated tiles reach up to size * (sqrt(2) - 1) / 2 beyond their box: keep them apart.
    if (faces.some((f) => overlaps(f.box, box, size * 0.25))) continue;
    const index = pool[rng.int(pool.length)];
    const rotation = rng.uniform(-opts.rotation, opts.rotation);
    const occluded = rng.next() < opts.occlusion;
    const px = ds.pixels.subarray(index * per, (index + 1) * per);
    const a = (rotation * Math.PI) / 180;
    const cos = Math.cos(a);
    const sin = Math.sin(a);
    const cx = box.x + size / 2;
    const cy = box.y + size / 2;
    const scale = ds.width / size;
    const reach = Math.ceil((size / 2) * (Math.abs(cos) + Math.abs(sin)));
    const occludeFrom = occluded ? rng.uniform(0.62, 0.75) * ds.height : Infinity;
    const occluder = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = Math.max(0, Math.floor(cy - reach)); y < Math.min(h, Math.ceil(cy + reach)); y++) {
      for (let x = Math.max(0, Math.floor(cx - reach)); x < Math.min(w, Math.ceil(cx + reach)); x++) {
        // Inverse rotation into tile coordinates, then into source pixels.
        const dx = x + 0.5 - cx;
        const dy = y + 0.5 - cy;
        const u = (dx * cos + dy * sin) * scale + ds.width / 2 - 0.5;
        const v = (-dx * sin + dy * cos) * scale + ds.height / 2 - 0.5;
        if (u < -0.5 || v < -0.5 || u > ds.width - 0.5 || v > ds.height - 0.5) continue;
        const o = (y * w + x) * 4;
        if (v >= occludeFrom) {
          data[o] = occluder[0];
          data[o + 1] = occluder[1];
          data[o + 2] = occluder[2];
          continue;
        }
        const u0 = Math.max(0, Math.min(ds.width - 1, Math.floor(u)));
        const v0 = Math.max(0, Math.min(ds.height - 1, Math.floor(v)));
        const u1 = Math.min(ds.width - 1, u0 + 1);
        const v1 = Math.min(ds.height - 1, v0 + 1);
        const tu = Math.max(0, Math.min(1, u - u0));
        const tv = Math.max(0, Math.min(1, v - v0));
        const g =
          (px[v0 * ds.width + u0] * (1 - tu) + px[v0 * ds.width + u1] * tu) * (1 - tv) +
          (px[v1 * ds.width + u0] * (1 - tu) + px[v1 * ds.width + u1] * tu) * tv;
        data[o] = data[o + 1] = data[o + 2] = g;
      }
    }
    const faceBox = tileBoxInScene({ box, rotation }, FACE_IN_TILE);
    faces.push({
      box,
      faceBox,
      faceBoxSource: 'fixed',
      label: ds.labels[index],
      emotion: ds.classNames[ds.labels[index]],
      index,
      rotation,
      occluded,
    });
  }
  return { image: { width: w, height: h, data }, faces };
}

/**
 * A box given in fractions of a face's tile, in scene pixels: its centre turns with the tile
 * (about the tile's centre), its size stays (faces are rotated by at most a few degrees).
 */
export function tileBoxInScene(face: Pick<SceneFace, 'box' | 'rotation'>, t: TileBox): SceneFace['faceBox'] {
  const { x, y, width: side } = face.box;
  const a = (face.rotation * Math.PI) / 180;
  const cos = Math.cos(a);
  const sin = Math.sin(a);
  const fx = (t.x + t.width / 2 - 0.5) * side;
  const fy = (t.y + t.height / 2 - 0.5) * side;
  const cx = x + side / 2;
  const cy = y + side / 2;
  const w = t.width * side;
  const h = t.height * side;
  return { x: cx + fx * cos - fy * sin - w / 2, y: cy + fx * sin + fy * cos - h / 2, width: w, height: h };
}

/**
 * The scene with each face's ground-truth box taken from `boxOf(face.index)` (a box in tile
 * fractions) where it gives one; other faces keep theirs.
 */
export function withFaceBoxes(scene: Scene, boxOf: (index: number) => TileBox | undefined): Scene {
  return {
    ...scene,
    faces: scene.faces.map((f) => {
      const t = boxOf(f.index);
      return t ? { ...f, faceBox: tileBoxInScene(f, t), faceBoxSource: 'landmarks' as const } : f;
    }),
  };
}

export { encodeY4m, y4mFrame, y4mHeader } from './y4m.ts';
