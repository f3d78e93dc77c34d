/** The detector's plain data: boxes, keypoints, faces, and the detector's interface. */
import type * as tf from '@tensorflow/tfjs';
import type { GrayImage, Rect, RgbaImage } from '@emodetect/preprocess';

/** A face's box in pixel coordinates of the input image (top-left corner, size): preprocess's {@link Rect}. */
export type FaceBox = Rect;

/** MediaPipe's six face keypoints, in this order. */
export const KEYPOINT_NAMES = ['rightEye', 'leftEye', 'noseTip', 'mouthCenter', 'rightEarTragion', 'leftEarTragion'] as const;
export type KeypointName = (typeof KEYPOINT_NAMES)[number];

export interface Keypoint {
  name: KeypointName;
  x: number;
  y: number;
}

/** One detected face, in pixel coordinates of the input image. */
export interface Face {
  box: FaceBox;
  /** Detector confidence, 0..1. */
  score: number;
  keypoints: Keypoint[];
}

export type DetectorModel = 'short' | 'full';

export interface FaceDetectorConfig {
  /** `short` (default): faces within ~2 m, 128x128 input; `full`: smaller, farther faces, 192x192. */
  model?: DetectorModel;
  /** Where the detector's model.json is: a URL, or a tfjs IOHandler (Node: from disk). */
  modelUrl: string | tf.io.IOHandler;
  /**
   * At most this many candidates per detector run (default 10): a cap inside the detector's own
   * suppression. Which faces an application keeps (how many, how small) is the pipeline's
   * choice (`createEmotionPipeline`'s `maxFaces` and `minFaceSize` in @emodetect/realtime).
   */
  maxFaces?: number;
  /**
   * Drop faces scoring below this (default 0.65). On composed PublicTest scenes, false detections
   * on textured backgrounds scored mostly 0.5-0.63 and true faces mostly above 0.68. Values
   * under MediaPipe's own cut (0.5 short range, 0.6 full range) lower that cut too.
   */
  minScore?: number;
}

/** Per-call settings of {@link FaceDetector.estimateFaces}. */
export interface EstimateOptions {
  /** Drop faces scoring below this, for this call only (default: the detector's `minScore`). */
  minScore?: number;
}

export interface FaceDetector {
  readonly config: Required<Omit<FaceDetectorConfig, 'modelUrl'>>;
  /** Faces in an RGBA (ImageData-like) or grayscale image, or an int32/float [h, w, 3] tensor. */
  estimateFaces(image: RgbaImage | GrayImage | tf.Tensor3D, options?: EstimateOptions): Promise<Face[]>;
  dispose(): void;
}
