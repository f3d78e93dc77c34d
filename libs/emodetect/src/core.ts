/** What both entries share: the detector object, its results, and the recipe behind it. */
import type { FaceBox, FaceDetector } from '@emodetect/face-detect';
import type { EmotionModel } from '@emodetect/model';
import type { GrayImage, RgbaImage } from '@emodetect/preprocess';
import {
  createEmotionPipeline,
  createFrameLoop,
  createTracker,
  recipeDetector,
  type DetectorRecipe,
  type FaceResult,
  type MeterStats,
  type TrackerOptions,
} from '@emodetect/realtime';

export { IMAGE_RECIPE, VIDEO_RECIPE, type DetectorRecipe } from '@emodetect/realtime';

/** One face: where it is, how sure the detector is, and the emotion with every class's probability. */
export interface DetectedFace {
  /** In the input's pixels. */
  box: FaceBox;
  /** Detector confidence, 0..1. */
  score: number;
  /** The most likely emotion. */
  emotion: string;
  /** Probability of every class, in the model's label order (angry, disgust, fear, happy, sad, surprise, neutral). */
  probabilities: Record<string, number>;
  /** In a stream: the same id for the same face from frame to frame. */
  trackId?: number;
}

export interface StreamOptions {
  /** Run the face detector on one frame in skipFrames + 1 and reuse its boxes between (default 0). */
  skipFrames?: number;
  /**
   * Keep this frame time (ms) by detecting less often on a slow machine (up to 4 frames reuse a
   * detection's boxes); `skipFrames` is then where it starts. Default: off.
   */
  targetMs?: number;
  /** Track faces and smooth their probabilities over frames (default true), or tracker options. */
  smoothing?: boolean | TrackerOptions;
}

/** The frames of one video or webcam, in order. */
export interface EmotionStream<I> {
  process(frame: I): Promise<DetectedFace[]>;
  /** Frames per second and latency so far, and the frames now skipped between detections. */
  stats(): MeterStats & { skipFrames: number };
}

export interface EmotionDetector<I> {
  /** The classifier: its name, architecture and class names. */
  readonly model: { name: string; arch: string; labels: readonly string[] };
  /** The recipes in use, for images and for streams. */
  readonly recipes: { image: DetectorRecipe; stream: DetectorRecipe };
  /** Faces and emotions in one image. */
  detect(input: I): Promise<DetectedFace[]>;
  /** A stream of frames (video, webcam): tracking and smoothing, and the stream recipe. */
  stream(options?: StreamOptions): EmotionStream<I>;
  /** Free the models' memory. */
  dispose(): void;
}

export function toDetectedFace(f: FaceResult): DetectedFace {
  const out: DetectedFace = { box: { ...f.box }, score: f.score, emotion: f.emotion, probabilities: { ...f.probabilities } };
  if (f.trackId !== undefined) out.trackId = f.trackId;
  return out;
}

/**
 * The detector object from a loaded model, the base face detectors the recipes name (short
 * and/or full range) and a function that turns an input into pixels.
 */
export function createCore<I>(
  model: EmotionModel,
  bases: Partial<Record<'short' | 'full', FaceDetector>>,
  recipes: { image: DetectorRecipe; stream: DetectorRecipe },
  pixels: (input: I) => Promise<RgbaImage | GrayImage>,
  onDispose: () => void = () => undefined,
): EmotionDetector<I> {
  const pipelineFor = (r: DetectorRecipe) =>
    createEmotionPipeline(recipeDetector(bases, r), model, { maxFaces: r.maxFaces, minFaceSize: r.minFaceSize });
  const image = pipelineFor(recipes.image);
  const video = pipelineFor(recipes.stream);
  return {
    model: { name: model.metadata.name, arch: model.metadata.arch, labels: [...model.metadata.labels] },
    recipes,
    async detect(input) {
      return (await image.detect(await pixels(input))).map(toDetectedFace);
    },
    stream(o = {}) {
      const smoothing = o.smoothing ?? true;
      const loop = createFrameLoop(video, {
        skipFrames: o.skipFrames ?? 0,
        adaptive: o.targetMs === undefined ? undefined : { targetMs: o.targetMs },
        tracker: smoothing === false ? null : createTracker(smoothing === true ? {} : smoothing),
      });
      return {
        process: async (frame) => (await loop.process(await pixels(frame))).map(toDetectedFace),
        stats: () => loop.stats(),
      };
    },
    dispose() {
      for (const b of Object.values(bases)) b?.dispose();
      model.model.dispose();
      onDispose();
    },
  };
}
