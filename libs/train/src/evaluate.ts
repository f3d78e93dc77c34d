/** `evaluate`: a model on a set of dataset images → the classification report. */
import { classificationReport, type ClassificationReport } from '@emodetect/metrics';
import type { EmotionModel } from '@emodetect/model';
import type { ImageDataset } from '@emodetect/preprocess';
import { validate } from './loop.ts';

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
