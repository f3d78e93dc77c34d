/**
 * @emodetect/realtime: the pipeline from an image (or a video frame) to labelled faces. It detects
 * faces, crops each with the classifier's own input config, classifies all faces of the image in
 * one batch and, for video, tracks faces across frames and smooths their scores so that labels do
 * not flicker. Isomorphic: drawing and video I/O are left to the caller.
 */
import { cropFace, type CropOptions, type Face, type FaceBox, type FaceDetector } from '@emodetect/face-detect';
import { predictProbabilities, type EmotionModel } from '@emodetect/model';
import type { GrayImage, RgbaImage } from '@emodetect/preprocess';

export { createTracker, type Tracker, type TrackerOptions } from './tracker.ts';
export { createMeter, type LatencyMeter, type MeterStats } from './meter.ts';

/** A face with its emotion: what every consumer (CLI, demo, bench) receives. */
export interface FaceResult {
  box: FaceBox;
  /** Detector confidence. */
  score: number;
  keypoints: Face['keypoints'];
  /** Most likely class and its probability. */
  emotion: string;
  confidence: number;
  /** Probability of every class, in the model's label order. */
  scores: Record<string, number>;
  /** Stable id across frames (set by a tracker). */
  trackId?: number;
}

export interface PipelineOptions {
  /** Keep at most this many faces (largest first). Default 10. */
  maxFaces?: number;
  /** Ignore faces narrower than this many pixels. Default 0. */
  minFaceSize?: number;
  crop?: CropOptions;
}

export interface EmotionPipeline {
  /** Faces and their emotions in one image; [] when there is none. */
  analyze(image: RgbaImage | GrayImage): Promise<FaceResult[]>;
}

/** Combine a face detector and an emotion model; preprocessing comes from the model's metadata. */
export function createEmotionPipeline(detector: FaceDetector, model: EmotionModel, opts: PipelineOptions = {}): EmotionPipeline {
  const maxFaces = opts.maxFaces ?? 10;
  const minFaceSize = opts.minFaceSize ?? 0;
  const { input, labels } = model.metadata;
  const per = input.width * input.height * input.channels;
  return {
    async analyze(image) {
      const faces = (await detector.estimateFaces(image))
        .filter((f) => f.box.width >= minFaceSize)
        .sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)
        .slice(0, maxFaces);
      if (faces.length === 0) return [];
      const batch = new Float32Array(faces.length * per);
      faces.forEach((f, i) => batch.set(cropFace(image, f, input, opts.crop), i * per));
      const probs = await predictProbabilities(model, batch, faces.length);
      return faces.map((f, i) => toResult(f, probs.subarray(i * labels.length, (i + 1) * labels.length), labels));
    },
  };
}

function toResult(face: Face, p: Float32Array, labels: readonly string[]): FaceResult {
  let best = 0;
  for (let j = 1; j < p.length; j++) if (p[j] > p[best]) best = j;
  return {
    box: face.box,
    score: face.score,
    keypoints: face.keypoints,
    emotion: labels[best],
    confidence: p[best],
    scores: Object.fromEntries(labels.map((l, j) => [l, p[j]])),
  };
}
