/** The model folder's `metadata.json`: everything inference and provenance need. */
import { FER2013_CLASSES, type CropConfig, type InputConfig } from '@emodetect/preprocess';

export type { InputConfig } from '@emodetect/preprocess';

/** The seven classes, in FER2013's label order (preprocess's FER2013_CLASSES). */
export const EMOTIONS = FER2013_CLASSES;
export type Emotion = (typeof EMOTIONS)[number];

export const METADATA_FORMAT = 'emodetect-model/1';

/** Test-time augmentation that is part of the model's declared inference. */
/** Test-time augmentation (see tta.ts): none, the mirror image, or 14 shifted, zoomed and mirrored views. */
export type TtaPolicy = 'none' | 'flip' | 'views';

export interface TrainingProvenance {
  command: string;
  seed: number;
  dataFile: string;
  dataSha256: string;
  trainImages: number;
  epochs: number;
  batchSize: number;
  backend: string;
  /** Where it trained, e.g. "2 x Intel Xeon … (wasm, 2 workers)". */
  hardware?: string;
  wallSeconds: number;
  finishedAt: string;
  /** The sources a run mixed (several, or photos through the detector), with their weights and sizes. */
  sources?: TrainingSource[];
}

/** One source of a run's training data. */
export interface TrainingSource {
  name: string;
  file: string;
  sha256: string;
  /** Sampling weight: each training face drawn this many times per epoch. */
  weight: number;
  /** `faces`: crops as given; `photos`: faces found by the detector and cut as inference cuts them. */
  kind: 'faces' | 'photos';
  trainImages: number;
  valImages: number;
  photos?: number;
  found?: number;
}

/** Class weights applied to the probabilities, in the order of `labels`, and where they were fitted. */
export interface PriorCorrection {
  weights: number[];
  /** The validation sets the weights were fitted on (e.g. "fer2013/PublicTest", "expw/val"). */
  fittedOn: string[];
}

export interface MetricsSummary {
  split: string;
  n: number;
  accuracy: number;
  macroF1: number;
}

export interface ModelMetadata {
  format: typeof METADATA_FORMAT;
  name: string;
  arch: string;
  parameters: number;
  input: InputConfig;
  labels: string[];
  tta: TtaPolicy;
  /**
   * How faces are cut from a detector's box for this model (margin, shift, eye alignment); the
   * realtime pipeline and `detect` use it. Absent in older folders: DEFAULT_CROP applies.
   */
  crop?: CropConfig;
  /**
   * A post-hoc prior correction: each class's probability is multiplied by its weight and the row
   * renormalised, on every runtime (`predictProbabilities`). Fitted on validation sets so that
   * the model does not trade rare classes for frequent ones (see `fitClassWeights` in @emodetect/metrics).
   */
  priorCorrection?: PriorCorrection;
  /** Weight quantisation of this folder's weights.bin, when it was exported quantised. */
  quantization?: 'uint8' | 'float16';
  training?: TrainingProvenance;
  metrics?: MetricsSummary[];
}

export const DEFAULT_INPUT: InputConfig = { height: 48, width: 48, channels: 1, mean: 0, std: 1 };

function fail(where: string, problem: string): never {
  throw new MetadataError(`${where}: ${problem}`);
}

export class MetadataError extends Error {
  override name = 'MetadataError';
}

/** Check a parsed `metadata.json`; throws {@link MetadataError} naming `where` and the problem. */
export function validateMetadata(value: unknown, where: string): ModelMetadata {
  if (typeof value !== 'object' || value === null) fail(where, 'is not a JSON object');
  const m = value as Record<string, unknown>;
  if (m.format !== METADATA_FORMAT) fail(where, `unknown format ${JSON.stringify(m.format)} (expected "${METADATA_FORMAT}")`);
  if (typeof m.arch !== 'string') fail(where, '"arch" is missing');
  const input = m.input as Record<string, unknown> | undefined;
  if (!input || typeof input.height !== 'number' || typeof input.width !== 'number') fail(where, '"input" needs height and width');
  if (input.channels !== 1) fail(where, '"input.channels" must be 1');
  if (typeof input.mean !== 'number' || typeof input.std !== 'number' || input.std === 0)
    fail(where, '"input" needs mean and a non-zero std');
  if (!Array.isArray(m.labels) || m.labels.length < 2 || !m.labels.every((l) => typeof l === 'string')) {
    fail(where, '"labels" must list at least two class names');
  }
  if (m.tta !== 'none' && m.tta !== 'flip' && m.tta !== 'views') fail(where, '"tta" must be "none", "flip" or "views"');
  if (m.crop !== undefined) {
    const c = m.crop as Record<string, unknown>;
    if (typeof c !== 'object' || c === null || typeof c.margin !== 'number' || typeof c.shift !== 'number' || typeof c.align !== 'boolean')
      fail(where, '"crop" needs a numeric margin and shift and a boolean align');
  }
  if (m.priorCorrection !== undefined) {
    const w = (m.priorCorrection as Record<string, unknown>)?.weights;
    if (
      !Array.isArray(w) ||
      w.length !== (m.labels as string[]).length ||
      !w.every((x) => typeof x === 'number' && x > 0 && Number.isFinite(x))
    )
      fail(where, '"priorCorrection.weights" needs one positive number per label');
  }
  return value as ModelMetadata;
}
