/** MediaPipe's BlazeFace through @tensorflow-models/face-detection, as a {@link FaceDetector}. */
import * as tf from '@tensorflow/tfjs';
import { load } from '@tensorflow-models/face-detection/dist/tfjs/detector.js';
import { isGray, type GrayImage, type RgbaImage } from '@emodetect/preprocess';
import { KEYPOINT_NAMES, type Face, type FaceDetector, type FaceDetectorConfig } from './types.ts';

/** An [h, w, 3] int32 tensor of an RGBA or gray image (alpha dropped, gray replicated). */
export function imageToTensor(img: RgbaImage | GrayImage): tf.Tensor3D {
  const { width: w, height: h } = img;
  const rgb = new Int32Array(w * h * 3);
  if (isGray(img)) {
    for (let i = 0; i < w * h; i++) rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = img.data[i];
  } else {
    for (let i = 0; i < w * h; i++) {
      rgb[3 * i] = img.data[4 * i];
      rgb[3 * i + 1] = img.data[4 * i + 1];
      rgb[3 * i + 2] = img.data[4 * i + 2];
    }
  }
  return tf.tensor3d(rgb, [h, w, 3], 'int32');
}

/** Load the detector. Nothing is fetched but `modelUrl`. */
export async function createFaceDetector(config: FaceDetectorConfig): Promise<FaceDetector> {
  const cfg = {
    model: config.model ?? 'short',
    maxFaces: config.maxFaces ?? 10,
    minScore: config.minScore ?? 0.65,
  };
  const detector = await load({ runtime: 'tfjs', modelType: cfg.model, maxFaces: cfg.maxFaces, detectorModelUrl: config.modelUrl });
  // The decoder drops boxes under its own fixed threshold (0.5 short range, 0.6 full range),
  // which would make a lower minScore useless: each call lowers it to that call's minScore. (A
  // field of the tfjs runtime's detector, not part of its typed API: checked, so that a change in
  // the package shows. detectFaces hands the object on synchronously, so a fresh object per call
  // is safe with calls in flight.)
  const decoder = detector as unknown as { tensorsToDetectionConfig?: { minScoreThresh?: number } };
  const decoderConfig = decoder.tensorsToDetectionConfig;
  if (typeof decoderConfig?.minScoreThresh !== 'number')
    throw new Error('createFaceDetector: @tensorflow-models/face-detection no longer exposes its score threshold');
  const nativeMinScore = decoderConfig.minScoreThresh;
  return {
    config: cfg,
    async estimateFaces(image, options = {}) {
      const minScore = options.minScore ?? cfg.minScore;
      const owned = !(image instanceof tf.Tensor);
      const t = image instanceof tf.Tensor ? image : imageToTensor(image);
      const [h, w] = t.shape;
      try {
        decoder.tensorsToDetectionConfig = { ...decoderConfig, minScoreThresh: Math.min(nativeMinScore, minScore) };
        const detections = await detector.detectFaces(t, false);
        const faces: Face[] = [];
        for (const d of detections) {
          const r = d.locationData.relativeBoundingBox;
          const score = d.score?.[0] ?? 0;
          if (!r || score < minScore) continue;
          const box = { x: r.xMin * w, y: r.yMin * h, width: r.width * w, height: r.height * h };
          const keypoints = (d.locationData.relativeKeypoints ?? []).map((k, i) => ({ name: KEYPOINT_NAMES[i], x: k.x * w, y: k.y * h }));
          faces.push({ box, score, keypoints });
        }
        return faces.sort((a, b) => b.score - a.score);
      } finally {
        if (owned) t.dispose();
      }
    },
    dispose() {
      detector.dispose();
    },
  };
}
