/**
 * `train --teacher <model>`: distillation. The teachers' averaged class probabilities on each
 * training face become part of its target, `(1 - w)·one-hot + w·teachers`; validation keeps the
 * dataset's own labels. The teachers see the unaugmented faces once, before training (their TTA
 * included), so a run's targets depend only on the teachers' weights.
 */
import { argmaxRows, loadModelFolder, predictProbabilities, useFoldedInference, type EmotionModel } from '@emodetect/model/node';
import type { ImageDataset } from '@emodetect/preprocess';
import { gatherImages } from '@emodetect/train';
import { UsageError } from './errors.ts';

interface Log {
  info(text: string): void;
}

/** Teachers set the targets: FER+'s soft targets cannot be combined with them. */
function refuseSoftLabels(ds: ImageDataset): void {
  if (ds.softLabels) throw new UsageError('train: --teacher cannot be combined with --ferplus-mode soft (both set the targets)');
}

/** Loads a teacher and checks that it reads the dataset's faces and names its classes. */
async function loadTeacher(dir: string, ds: ImageDataset): Promise<EmotionModel> {
  const m = await loadModelFolder(dir).catch((e: unknown) => {
    throw new UsageError(`train: --teacher ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const { height, width, channels } = m.metadata.input;
  const problem =
    m.metadata.labels.join(',') !== ds.classNames.join(',')
      ? `its labels (${m.metadata.labels.join(', ')}) differ from the dataset's (${ds.classNames.join(', ')})`
      : height !== ds.height || width !== ds.width || channels !== 1
        ? `it reads ${width}x${height}x${channels} faces, the dataset holds ${ds.width}x${ds.height}x1`
        : undefined;
  if (problem) {
    m.model.dispose();
    throw new UsageError(`train: --teacher ${dir}: ${problem}`);
  }
  return m;
}

/** The teachers of `--teacher-online`, checked against the dataset, for the native engine. */
export async function onlineTeachers(
  dirs: readonly string[],
  ds: ImageDataset,
  weight: number,
): Promise<{ models: EmotionModel[]; weight: number }> {
  refuseSoftLabels(ds);
  const models: EmotionModel[] = [];
  try {
    for (const dir of dirs) models.push(await loadTeacher(dir, ds));
  } catch (e) {
    models.forEach((m) => m.model.dispose());
    throw e;
  }
  return { models, weight };
}

/**
 * Replace the targets of the `train` rows by the blend with the teachers' probabilities (other
 * rows keep one-hot targets). `--teacher-online` instead hands the teachers to the native engine
 * ({@link onlineTeachers}), which blends their answers on each augmented batch. `accelerate` may switch a teacher to a faster executor (the native
 * one); otherwise it runs folded on tfjs. Returns one line describing the teachers.
 */
export async function distil(
  ds: ImageDataset,
  train: readonly number[],
  teachers: readonly string[],
  weight: number,
  log: Log,
  accelerate?: (m: EmotionModel) => { description: string; dispose(): void } | null,
): Promise<string> {
  refuseSoftLabels(ds);
  const k = ds.classNames.length;
  const avg = new Float32Array(train.length * k);
  const faces = gatherImages(ds, train);
  const accuracies: string[] = [];
  for (const dir of teachers) {
    const m = await loadTeacher(dir, ds);
    const fast = accelerate?.(m) ?? null;
    try {
      const how = fast?.description ?? (useFoldedInference(m) ? 'tfjs, batch-norm folded' : 'tfjs');
      const t0 = performance.now();
      let last = 0;
      const p = await predictProbabilities(m, faces, train.length, {
        onProgress: (done, total) => {
          if (performance.now() - last < 5000 && done < total) return;
          last = performance.now();
          log.info(`teacher ${m.metadata.name}: ${done}/${total} training faces`);
        },
      });
      for (let i = 0; i < train.length * k; i++) avg[i] += p[i] / teachers.length;
      const predicted = argmaxRows(p, k);
      const hits = train.filter((r, i) => predicted[i] === ds.labels[r]).length;
      const acc = (100 * hits) / train.length;
      accuracies.push(`${m.metadata.name} (${acc.toFixed(1)}% on the training faces)`);
      log.info(`teacher ${dir}: ${m.metadata.name}, ${how}, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } finally {
      fast?.dispose();
      m.model.dispose();
    }
  }
  const soft = new Float32Array(ds.count * k);
  for (let r = 0; r < ds.count; r++) soft[r * k + ds.labels[r]] = 1;
  train.forEach((r, i) => {
    for (let j = 0; j < k; j++) soft[r * k + j] = (1 - weight) * soft[r * k + j] + weight * avg[i * k + j];
  });
  ds.softLabels = soft;
  return `distilling from ${accuracies.join(', ')}, teacher weight ${weight}`;
}
