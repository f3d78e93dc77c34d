/**
 * The detector recipe: which face detector, tiles, second look, score threshold and face limits,
 * in one place for everything that finds faces (the CLI's detect, the demo, the bench and the
 * `emodetect` package). Images and video frames have their own defaults: tiles find small faces at
 * ten times the detector's cost, which a still image can afford and a live stream cannot.
 */
import { combineDetectors, tileDetector, type FaceDetector } from '@emodetect/face-detect';

export interface DetectorRecipe {
  /** `short` (faces within ~2 m), `full` (smaller, farther faces) or `both`, merged. */
  detector: 'short' | 'full' | 'both';
  /** Also detect on N x N overlapping tiles (0 = the whole image only). */
  tiles: number;
  /** With tiles: a second look at each proposed face, in a window twice its size. */
  refine: boolean;
  /** Drop detections scoring below this, 0.3..1. */
  minScore: number;
  /** Keep at most this many faces, largest first. */
  maxFaces: number;
  /** Ignore faces narrower than this many pixels. */
  minFaceSize: number;
}

/** Still images: 3x3 tiles and a second look (97.5% of faces found in 1- and 3-face scenes; BENCHMARKS.md). */
export const IMAGE_RECIPE: Readonly<DetectorRecipe> = {
  detector: 'short',
  tiles: 3,
  refine: true,
  minScore: 0.65,
  maxFaces: 10,
  minFaceSize: 0,
};

/** Video and webcam frames: the whole frame only, every frame. */
export const VIDEO_RECIPE: Readonly<DetectorRecipe> = { ...IMAGE_RECIPE, tiles: 0, refine: false };

/** `base` with the fields of `overrides` that are set, checked; throws a one-line Error naming the bad field. */
export function resolveRecipe(base: Readonly<DetectorRecipe>, overrides: Partial<DetectorRecipe> = {}): DetectorRecipe {
  const r: DetectorRecipe = { ...base };
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) (r as unknown as Record<string, unknown>)[k] = v;
  if (!['short', 'full', 'both'].includes(r.detector)) throw new Error(`detector must be short, full or both, not ${String(r.detector)}`);
  if (!Number.isInteger(r.tiles) || r.tiles < 0) throw new Error(`tiles must be an integer >= 0, not ${r.tiles}`);
  if (r.refine && r.tiles === 0) throw new Error('refine needs tiles (1 or more)');
  if (!(r.minScore >= 0.3 && r.minScore <= 1)) throw new Error(`minScore must be in 0.3..1, not ${r.minScore}`);
  if (!Number.isInteger(r.maxFaces) || r.maxFaces < 1) throw new Error(`maxFaces must be an integer >= 1, not ${r.maxFaces}`);
  if (!(r.minFaceSize >= 0)) throw new Error(`minFaceSize must be >= 0, not ${r.minFaceSize}`);
  return r;
}

/** The detectors (short and/or full range, in that order) a recipe needs. */
export function recipeModels(r: DetectorRecipe): ('short' | 'full')[] {
  return r.detector === 'both' ? ['short', 'full'] : [r.detector];
}

/**
 * The face detector of a recipe from the base detectors it names ({@link recipeModels}; made with
 * at least the recipe's maxFaces): merged when there are two, tiled when it asks, and applying the
 * recipe's minScore on every call. Disposing it leaves the bases alone (they may serve others).
 */
export function recipeDetector(bases: Partial<Record<'short' | 'full', FaceDetector>>, r: DetectorRecipe): FaceDetector {
  const parts = recipeModels(r).map((m) => {
    const d = bases[m];
    if (!d) throw new Error(`recipeDetector: no ${m}-range base detector`);
    return d;
  });
  const merged = parts.length > 1 ? combineDetectors(parts) : parts[0];
  const inner = r.tiles > 0 ? tileDetector(merged, { grid: r.tiles, refine: r.refine }) : merged;
  return {
    config: { ...inner.config, minScore: r.minScore },
    estimateFaces: (image, options = {}) => inner.estimateFaces(image, { minScore: r.minScore, ...options }),
    dispose: () => undefined,
  };
}
