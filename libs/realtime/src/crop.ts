/**
 * The classifier's input cut from a detected face: the crop geometry (margin, shift, eye-levelled
 * rotation) comes from the model's metadata, the size from its input config.
 */
import type { Face } from '@emodetect/face-detect';
import {
  DEFAULT_CROP,
  isGray,
  rgbaToGray,
  toUnitFloat,
  warpCropGray,
  type CropConfig,
  type GrayImage,
  type InputConfig,
  type RgbaImage,
} from '@emodetect/preprocess';

/** How to cut a face from its box (see CropConfig in @emodetect/preprocess); unset fields take DEFAULT_CROP's. */
export type CropOptions = Partial<CropConfig>;

/** The roll angle of a face from its eye keypoints (radians; 0 when the eyes are level). */
export function eyeAngle(face: Face): number {
  const right = face.keypoints.find((k) => k.name === 'rightEye');
  const left = face.keypoints.find((k) => k.name === 'leftEye');
  if (!right || !left) return 0;
  // The subject's right eye is on the image's left.
  return Math.atan2(left.y - right.y, left.x - right.x);
}

/**
 * The classifier's input for one face: a square crop around the box (with margin, optionally
 * rotated upright by the eyes), grayscale, resized to the model's input, scaled to 0..1. The size
 * comes from the model's own {@link InputConfig}.
 */
export function cropFace(image: RgbaImage | GrayImage, face: Face, input: InputConfig, opts: CropOptions = {}): Float32Array {
  const gray = isGray(image) ? image : rgbaToGray(image);
  return toUnitFloat(cropFaceGray(gray, face, input, opts).data);
}

/** {@link cropFace} as an 8-bit grayscale image (for drawing or saving). */
export function cropFaceGray(gray: GrayImage, face: Face, input: InputConfig, opts: CropOptions = {}): GrayImage {
  const margin = opts.margin ?? DEFAULT_CROP.margin;
  const shift = (opts.shift ?? DEFAULT_CROP.shift) * face.box.height;
  const { x, y, width, height } = face.box;
  const side = Math.max(width, height) * (1 + margin);
  const angle = (opts.align ?? DEFAULT_CROP.align) ? eyeAngle(face) : 0;
  // The face's "down" direction is the image's y axis rotated by the roll angle.
  const cx = x + width / 2 - shift * Math.sin(angle);
  const cy = y + height / 2 + shift * Math.cos(angle);
  return warpCropGray(gray, cx, cy, side, angle, input.width, input.height);
}
