/** `evaluate`: a model on a set of dataset images → the classification report. */
import { classificationReport, fitClassWeights, type ClassificationReport } from '@emodetect/metrics';
import { predictProbabilities, type EmotionModel, type PriorCorrection } from '@emodetect/model';
import { pixelDuplicates, type ImageDataset } from '@emodetect/preprocess';
import { gatherImages, validate } from './loop.ts';

/** Check that a model can be evaluated on a dataset (same classes, same image size). */
function checkCompatible(m: EmotionModel, ds: ImageDataset): void {
  const dsLabels = ds.classNames.join(',');
  const modelLabels = m.metadata.labels.join(',');
  if (dsLabels !== modelLabels) throw new Error(`the model's classes (${modelLabels}) differ from the dataset's (${dsLabels})`);
  if (ds.width !== m.metadata.input.width || ds.height !== m.metadata.input.height) {
    throw new Error(
      `the dataset's images are ${ds.width}x${ds.height} but the model takes ${m.metadata.input.width}x${m.metadata.input.height}`,
    );
  }
}

/** Predicted class of each image at `indices` (with the model's declared TTA). */
export async function predictClasses(
  m: EmotionModel,
  ds: ImageDataset,
  indices: number[],
  onProgress?: (done: number, total: number) => void,
): Promise<Int32Array> {
  if (indices.length === 0) throw new Error('no images to evaluate');
  checkCompatible(m, ds);
  return (await validate(m, ds, indices, onProgress)).predicted;
}

/** The classification report of `m` on the images at `indices`. */
export async function evaluate(m: EmotionModel, ds: ImageDataset, indices: number[]): Promise<ClassificationReport> {
  const predicted = await predictClasses(m, ds, indices);
  return classificationReport(
    indices.map((i) => ds.labels[i]),
    predicted,
    ds.classNames,
  );
}

/** A split evaluated twice: on all its images and without those also found in a reference split. */
export interface LeakAwareEvaluation {
  all: ClassificationReport;
  /** Without the images that are pixel-identical to one in the reference split. */
  dedup: ClassificationReport;
  /** How many images were left out of `dedup`. */
  duplicates: number;
}

/**
 * Evaluate `m` on `indices` once, and report it both on all of them and without the ones that are
 * pixel-identical to an image of `reference` (FER2013: 288 PrivateTest faces also in Training).
 */
export async function evaluateLeakAware(
  m: EmotionModel,
  ds: ImageDataset,
  indices: number[],
  reference: readonly number[],
  onProgress?: (done: number, total: number) => void,
): Promise<LeakAwareEvaluation> {
  const dups = new Set(reference.length ? pixelDuplicates(ds, indices, reference) : []);
  const predicted = await predictClasses(m, ds, indices, onProgress);
  const report = (keep: (i: number) => boolean) => {
    const pos = indices.map((_, p) => p).filter((p) => keep(indices[p]));
    return classificationReport(
      pos.map((p) => ds.labels[indices[p]]),
      pos.map((p) => predicted[p]),
      ds.classNames,
    );
  };
  return { all: report(() => true), dedup: report((i) => !dups.has(i)), duplicates: dups.size };
}

/**
 * Fit a model's prior correction (one weight per class, see `fitClassWeights`) on validation
 * groups, e.g. each source's validation part, from the model's answers without any correction
 * of its own (one it has is removed). Returns the correction to store in its metadata, and the
 * objective before and after.
 */
export async function fitPriorCorrection(
  m: EmotionModel,
  ds: ImageDataset,
  groups: readonly { name: string; indices: readonly number[] }[],
): Promise<{ correction: PriorCorrection; before: number; after: number }> {
  checkCompatible(m, ds);
  delete m.metadata.priorCorrection;
  const sets = [];
  for (const g of groups) {
    if (g.indices.length === 0) throw new Error(`no images in the validation group ${g.name}`);
    const probs = await predictProbabilities(m, gatherImages(ds, g.indices), g.indices.length);
    sets.push({ probs, labels: g.indices.map((j) => ds.labels[j]) });
  }
  const { weights, before, after } = fitClassWeights(sets, m.metadata.labels.length);
  return { correction: { weights: weights.map((w) => Math.round(w * 1e4) / 1e4), fittedOn: groups.map((g) => g.name) }, before, after };
}
