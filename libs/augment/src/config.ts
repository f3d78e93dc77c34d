import { DEFAULT_DEGRADE, type DegradeConfig } from './degrade.ts';

/** What augmentation does, and its defaults. */
export interface AugmentConfig {
  /** Max rotation in degrees (uniform in ±). */
  rotation: number;
  /** Probability of a horizontal flip. */
  flip: number;
  /** Zoom factor range: scale uniform in [1 - zoom, 1 + zoom] (>1 zooms in). */
  zoom: number;
  /** Max shift as a fraction of width/height (uniform in ±). */
  shift: number;
  /** Max brightness offset, added in 0..1 pixel units (uniform in ±). */
  brightness: number;
  /** Contrast factor range: uniform in [1 - contrast, 1 + contrast], about the image mean. */
  contrast: number;
  /** Probability of erasing one random rectangle (2%-25% of the area) with noise. */
  erase: number;
  /**
   * Max log aspect change: width x e^u and height / e^u, u uniform in ±aspect (0 or absent = off;
   * drawn only when on, so configurations without it keep their random sequences).
   */
  aspect?: number;
  /**
   * Mixup's alpha: each image of a batch is blended with another of the same batch, and so are
   * their targets and loss weights (see {@link mixup}); 0 or absent = off.
   */
  mixup?: number;
  /**
   * Random degradations (bad light, blur, low resolution, noise, occluders) applied after the
   * other transforms, each with its probability (see {@link DegradeConfig}); absent = off, and
   * configurations without it keep their random sequences.
   */
  degrade?: DegradeConfig;
}

/** Defaults that suit 48x48 FER faces. */
export const DEFAULT_AUGMENT: AugmentConfig = {
  rotation: 10,
  flip: 0.5,
  zoom: 0.1,
  shift: 0.1,
  brightness: 0.1,
  contrast: 0.2,
  erase: 0.25,
};

/**
 * Crops that vary the way a face detector's boxes do around the face: wider zoom and shift ranges,
 * more rotation, and aspect changes, on top of the defaults' photometric changes and erasing.
 */
export const DETECTOR_AUGMENT: AugmentConfig = { ...DEFAULT_AUGMENT, rotation: 15, zoom: 0.2, shift: 0.12, aspect: 0.1 };

/** No augmentation at all. */
export const NO_AUGMENT: AugmentConfig = { rotation: 0, flip: 0, zoom: 0, shift: 0, brightness: 0, contrast: 0, erase: 0 };

/**
 * For faces outside FER2013: the detector-like crops of {@link DETECTOR_AUGMENT} plus the random
 * degradations of {@link DEFAULT_DEGRADE} (light, blur, low resolution, noise, occluders).
 */
export const ROBUST_AUGMENT: AugmentConfig = { ...DETECTOR_AUGMENT, degrade: DEFAULT_DEGRADE };
