/**
 * `train --teacher <model>`: distillation. The teachers' averaged class probabilities on each
 * training face become part of its target, `(1 - w)·one-hot + w·teachers`; validation keeps the
 * dataset's own labels. The teachers see the unaugmented faces once, before training (their TTA
 * included), so a run's targets depend only on the teachers' weights.
 *
 * A teacher may also be a teacher-labels file (`.json`, written by `tools/gpu/teachers.py`): class
 * probabilities per dataset row, computed elsewhere, for instance by teachers that never saw the
 * row (cross-fitting).
 */
import { promises as fs } from 'node:fs';
import { gunzipSync } from 'node:zlib';
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
    for (const dir of dirs) {
      if (await isLabelsFile(dir))
        throw new UsageError(`train: --teacher ${dir}: --teacher-online needs model folders; a teacher-labels file answers only for the plain faces`);
      models.push(await loadTeacher(dir, ds));
    }
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
  // The training faces, gathered once and only if a model teacher needs them.
  let faces: ReturnType<typeof gatherImages> | undefined;
  const accuracies: string[] = [];
  const record = (p: Float32Array, name: string): void => {
    for (let i = 0; i < train.length * k; i++) avg[i] += p[i] / teachers.length;
    const predicted = argmaxRows(p, k);
    const hits = train.filter((r, i) => predicted[i] === ds.labels[r]).length;
    accuracies.push(`${name} (${((100 * hits) / train.length).toFixed(1)}% on the training faces)`);
  };
  for (const dir of teachers) {
    if (await isLabelsFile(dir)) {
      const labels = await readTeacherLabels(dir, ds, train);
      record(labels.probabilities, labels.name);
      log.info(`teacher ${dir}: ${labels.description}`);
      continue;
    }
    const m = await loadTeacher(dir, ds);
    const fast = accelerate?.(m) ?? null;
    try {
      const how = fast?.description ?? (useFoldedInference(m) ? 'tfjs, batch-norm folded' : 'tfjs');
      const t0 = performance.now();
      let last = 0;
      faces ??= gatherImages(ds, train);
      const p = await predictProbabilities(m, faces, train.length, {
        onProgress: (done, total) => {
          if (performance.now() - last < 5000 && done < total) return;
          last = performance.now();
          log.info(`teacher ${m.metadata.name}: ${done}/${total} training faces`);
        },
      });
      record(p, m.metadata.name);
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

/** A teacher given as a file (not a model folder) is a teacher-labels file. */
async function isLabelsFile(p: string): Promise<boolean> {
  const stat = await fs.stat(p).catch(() => null);
  return stat !== null && stat.isFile();
}

/**
 * Reads a teacher-labels file (JSON, optionally gzipped): `{format: "emodetect-teacher-labels", version: 1, classes,
 * description, rows, probabilities}`, where `rows[i]` is a dataset row number (FER2013: the CSV's
 * 0-based data row) and `probabilities[i]` its class probabilities. Returns the probabilities of
 * the `train` rows, in their order; any problem is one line naming the file.
 */
async function readTeacherLabels(
  file: string,
  ds: ImageDataset,
  train: readonly number[],
): Promise<{ probabilities: Float32Array; name: string; description: string }> {
  // `name` is the path as given: such files are usually all called teacher-labels.json.
  const fail = (problem: string): never => {
    throw new UsageError(`train: --teacher ${file}: ${problem}`);
  };
  let doc: unknown;
  try {
    const bytes = await fs.readFile(file);
    const gzipped = bytes[0] === 0x1f && bytes[1] === 0x8b;
    doc = JSON.parse((gzipped ? gunzipSync(bytes) : bytes).toString('utf8'));
  } catch (e) {
    fail(e instanceof SyntaxError ? `not valid JSON (${e.message})` : `cannot be read (${e instanceof Error ? e.message : String(e)})`);
  }
  const d = (typeof doc === 'object' && doc !== null ? doc : {}) as Record<string, unknown>;
  if (d.format !== 'emodetect-teacher-labels') fail('not a teacher-labels file (expected "format": "emodetect-teacher-labels") nor a model folder');
  if (d.version !== 1) fail(`version ${String(d.version)} is not supported (expected 1)`);
  const classes = d.classes;
  if (!Array.isArray(classes) || classes.join(',') !== ds.classNames.join(','))
    fail(`its classes (${Array.isArray(classes) ? classes.join(', ') : 'missing'}) differ from the dataset's (${ds.classNames.join(', ')})`);
  const rows = d.rows;
  const probs = d.probabilities;
  if (!Array.isArray(rows) || !Array.isArray(probs) || rows.length !== probs.length)
    fail('"rows" and "probabilities" must be arrays of the same length');
  const k = ds.classNames.length;
  const at = new Map<number, number>();
  (rows as unknown[]).forEach((r, i) => {
    if (!Number.isInteger(r)) fail(`rows[${i}] is not a row number`);
    at.set(r as number, i);
  });
  const out = new Float32Array(train.length * k);
  train.forEach((r, i) => {
    const row = ds.rowIds[r];
    const j = at.get(row);
    if (j === undefined) fail(`no probabilities for training row ${row} (${ds.origins[r]}); the file covers ${at.size} rows`);
    const p = (probs as unknown[])[j as number];
    if (!Array.isArray(p) || p.length !== k || !p.every((v) => typeof v === 'number' && v >= 0 && v <= 1))
      fail(`probabilities[${j}] (row ${row}) must be ${k} numbers in 0..1`);
    const sum = (p as number[]).reduce((a, b) => a + b, 0);
    if (Math.abs(sum - 1) > 1e-3) fail(`probabilities[${j}] (row ${row}) sum to ${sum.toFixed(4)}, not 1`);
    (p as number[]).forEach((v, c) => (out[i * k + c] = v / sum));
  });
  const description = typeof d.description === 'string' ? d.description : `${at.size} rows of class probabilities`;
  return { probabilities: out, name: file, description };
}
