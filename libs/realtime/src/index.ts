/**
 * @emodetect/realtime: the pipeline from an image (or a video frame) to labelled faces. It detects
 * faces, crops each with the classifier's own input config, classifies all faces of the image in
 * one batch and, for video, tracks faces across frames and smooths their scores so that labels do
 * not flicker. Isomorphic: drawing and video I/O are left to the caller.
 */
import type { Face, FaceBox, FaceDetector } from '@emodetect/face-detect';
import { cropFace, type CropOptions } from './crop.ts';
import { argmaxRows, predictProbabilities, type EmotionModel } from '@emodetect/model';
import { isGray, rgbaToGray, type GrayImage, type RgbaImage } from '@emodetect/preprocess';

import { createTracker, type Tracker } from './tracker.ts';
import { createMeter, type MeterStats } from './meter.ts';

export { createTracker, type Tracker, type TrackerOptions } from './tracker.ts';
export { createMeter, type LatencyMeter, type MeterStats } from './meter.ts';
export { IMAGE_RECIPE, VIDEO_RECIPE, recipeDetector, recipeModels, resolveRecipe, type DetectorRecipe } from './recipe.ts';
export { drawFaces, emotionColor, type Canvas2D, type DrawOptions } from './draw.ts';
export { layoutFaces, faceLabel, emotionRgb, EMOTION_COLORS, type LayoutOptions, type Mark, type Rgb } from './layout.ts';
export { cropFace, cropFaceGray, eyeAngle, type CropOptions } from './crop.ts';

export type { FaceResult } from './types.ts';
import type { FaceResult } from './types.ts';

/** The pipeline owns which faces are kept: how many (the largest first) and how small. */
export interface PipelineOptions {
  /** Keep at most this many faces (largest first). Default 10. */
  maxFaces?: number;
  /** Ignore faces narrower than this many pixels. Default 0. */
  minFaceSize?: number;
  /** Override the model's crop geometry (`metadata.crop`), field by field. */
  crop?: CropOptions;
}

export interface EmotionPipeline {
  /** Faces and their emotions in one image (what `emodetect detect` reports); [] when there is none. */
  detect(image: RgbaImage | GrayImage): Promise<FaceResult[]>;
  /** The face-finding step alone: faces kept by the size and count options, largest first. */
  findFaces(image: RgbaImage | GrayImage): Promise<Face[]>;
  /** The classification step alone, for faces found earlier (all in one batch). */
  classify(image: RgbaImage | GrayImage, faces: readonly Face[]): Promise<FaceResult[]>;
}

/** Combine a face detector and an emotion model; preprocessing comes from the model's metadata. */
export function createEmotionPipeline(detector: FaceDetector, model: EmotionModel, opts: PipelineOptions = {}): EmotionPipeline {
  const maxFaces = opts.maxFaces ?? 10;
  const minFaceSize = opts.minFaceSize ?? 0;
  const { input, labels } = model.metadata;
  // The model's own crop geometry, unless the caller overrides it.
  const crop = { ...model.metadata.crop, ...opts.crop };
  const per = input.width * input.height * input.channels;
  const findFaces = async (image: RgbaImage | GrayImage) =>
    (await detector.estimateFaces(image))
      .filter((f) => f.box.width >= minFaceSize)
      .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)
      .slice(0, maxFaces);
  const classify = async (image: RgbaImage | GrayImage, faces: readonly Face[]) => {
    if (faces.length === 0) return [];
    const batch = new Float32Array(faces.length * per);
    // Gray once per image, not once per face.
    const gray = isGray(image) ? image : rgbaToGray(image);
    faces.forEach((f, i) => batch.set(cropFace(gray, f, input, crop), i * per));
    const probs = await predictProbabilities(model, batch, faces.length);
    return faces.map((f, i) => toResult(f, probs.subarray(i * labels.length, (i + 1) * labels.length), labels));
  };
  return { findFaces, classify, detect: async (image) => classify(image, await findFaces(image)) };
}

export interface FrameLoopOptions {
  /** Run the detector on one frame, then reuse its boxes for this many frames (default 0). */
  skipFrames?: number;
  /**
   * Adapt `skipFrames` to the machine: after each detection, skip as many frames as it takes for
   * the average frame to fit `targetMs` (detection's cost spread over the frames that reuse its
   * boxes, plus classification on each), up to `maxSkip` (default 4). `skipFrames` is then the
   * starting value. A slow machine keeps its frame rate by detecting less often; a fast one
   * detects on every frame.
   */
  adaptive?: { targetMs: number; maxSkip?: number };
  /** Track faces and smooth their scores (default: a tracker with default options). */
  tracker?: Tracker | null;
  /** Frames kept by the latency meter's window (default 60). */
  meterWindow?: number;
}

export interface FrameLoop {
  /** Analyse the next frame of a stream. */
  process(frame: RgbaImage | GrayImage): Promise<FaceResult[]>;
  /** FPS and latency of `process` so far, and the frames now skipped between detections. */
  stats(): MeterStats & { skipFrames: number };
}

/**
 * The per-frame loop of a video or a webcam: detection on every (skipFrames + 1)-th frame,
 * classification of every frame, tracking and smoothing, and a latency meter.
 */
export function createFrameLoop(pipeline: EmotionPipeline, opts: FrameLoopOptions = {}): FrameLoop {
  let skip = opts.skipFrames ?? 0;
  const tracker = opts.tracker === undefined ? createTracker() : opts.tracker;
  const meter = createMeter(opts.meterWindow ?? 60);
  const adaptive = opts.adaptive;
  const maxSkip = adaptive?.maxSkip ?? 4;
  // Exponential averages of a detection's and a classification's cost (ms).
  let detectMs = -1;
  let classifyMs = -1;
  const average = (prev: number, x: number) => (prev < 0 ? x : 0.7 * prev + 0.3 * x);
  let sinceDetect = 0;
  let faces: Face[] = [];
  return {
    async process(image) {
      const t0 = performance.now();
      if (sinceDetect === 0) {
        faces = await pipeline.findFaces(image);
        detectMs = average(detectMs, performance.now() - t0);
      }
      const t1 = performance.now();
      const results = await pipeline.classify(image, faces);
      classifyMs = average(classifyMs, performance.now() - t1);
      if (adaptive && sinceDetect === 0) {
        // (detect / (skip + 1)) + classify <= target  ⇔  skip + 1 >= detect / (target - classify).
        const room = adaptive.targetMs - classifyMs;
        skip = room <= 0 ? maxSkip : Math.min(maxSkip, Math.max(0, Math.ceil(detectMs / room) - 1));
      }
      sinceDetect = sinceDetect >= skip ? 0 : sinceDetect + 1;
      const out = tracker ? tracker.update(results) : results;
      meter.record(performance.now() - t0);
      return out;
    },
    stats: () => ({ ...meter.stats(), skipFrames: skip }),
  };
}

/** A face as plain JSON, rounded for output: `{ box, score, emotion, probabilities }` (`detect --json`'s shape). */
export interface FaceJson {
  box: FaceBox;
  score: number;
  emotion: string;
  probabilities: Record<string, number>;
}

const round = (v: number, d = 1) => Math.round(v * 10 ** d) / 10 ** d;

/** {@link FaceJson} of a result: box to 0.1 px, score and probabilities to 4 decimals. Used by the CLI and the demo. */
export function faceJson(f: FaceResult): FaceJson {
  return {
    box: { x: round(f.box.x), y: round(f.box.y), width: round(f.box.width), height: round(f.box.height) },
    score: round(f.score, 4),
    emotion: f.emotion,
    probabilities: Object.fromEntries(Object.entries(f.probabilities).map(([k, v]) => [k, round(v, 4)])),
  };
}

function toResult(face: Face, p: Float32Array, labels: readonly string[]): FaceResult {
  const [best] = argmaxRows(p, labels.length);
  return {
    box: face.box,
    score: face.score,
    keypoints: face.keypoints,
    emotion: labels[best],
    probabilities: Object.fromEntries(labels.map((l, j) => [l, p[j]])),
  };
}
