/** The pipeline's result type (its own module, so that drawing and tracking need not import the index). */
import type { Face, FaceBox } from '@emodetect/face-detect';

/** A face with its emotion: what every consumer (CLI, demo, bench) receives. */
export interface FaceResult {
  box: FaceBox;
  /** Detector confidence. */
  score: number;
  keypoints: Face['keypoints'];
  /** Most likely class. */
  emotion: string;
  /** Probability of every class, in the model's label order (`probabilities[emotion]` is the highest). */
  probabilities: Record<string, number>;
  /** Stable id across frames (set by a tracker). */
  trackId?: number;
}
