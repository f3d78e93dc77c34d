/** `emodetect eval`: a model folder on a dataset split → accuracy, per-class metrics, confusion matrix. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { describeBackend, initNodeBackend, BACKEND_NAMES } from '@emodetect/backend/node';
import { CLI_BACKENDS, classifierRuntime, tfjsBackend, type CliBackend } from './native.ts';
import { confusionMatrixSvg, reportMarkdown } from '@emodetect/metrics';
import { bundledModelDir, loadModelFolder, ModelLoadError, type EmotionModel } from '@emodetect/model/node';
import { evaluateLeakAware, indicesForSplit, stratifiedSample } from '@emodetect/train/node';
import { splitIndices } from '@emodetect/preprocess';
import { choiceOption, intOption, parseCommand } from './args.ts';
import { UsageError } from './errors.ts';
import { loadDataset } from './data.ts';
import { isPhotoCsv, loadPhotoFaces } from './sources.ts';
import { stderrLog } from './log.ts';

export const EVAL_HELP = `emodetect eval [--model <dir>] --data <csv|csv.gz|folder> [options]

Evaluate a model folder (or a run folder, whose model/ is used) on one split of a dataset.

Options:
  --model <dir>      model folder with model.json, weights and metadata.json
                     (default: the bundled models/fer-base)
  --data <path>      FER2013 CSV (.csv/.csv.gz), image folder, or labelled-photo CSV such as ExpW's (required)
  --split S          PrivateTest | PublicTest | Training | val | a folder or CSV split name (default: PrivateTest
                     for FER2013, else test or val)
  --faces F          labelled photos: detect (default: each face found by the detector, as detect finds it,
                     cut with the model's crop; cached) | box (the labelled box cut directly)
  --json             print exactly one JSON object to stdout:
                     {"n","accuracy","macroF1","labels","perClass","confusionMatrix"}
  --report <dir>     also write report.md, report.json and confusion.svg there
  --dedupe           leave out faces that are pixel-identical to a Training face (FER2013 leaks 288
                     PrivateTest faces); without it both accuracies are reported on stderr
  --ferplus <csv>    score against the FER+ relabels (fer2013new.csv: the plurality of ten
                     annotators) instead of FER2013's labels; faces without a FER+ emotion are left out
  --limit N          evaluate a stratified subset of N images
  --skip-bad         skip unreadable rows/images instead of stopping
  --tta T            none | flip | views: test-time augmentation instead of the model's own (views: 14 shifted,
                     zoomed and mirrored views, 7x the cost of flip)
  --backend B        native | ${BACKEND_NAMES.join(' | ')} (default: auto = native when it is
                     built, else the best tfjs backend)`;

/** Accept a model folder or a run folder (whose best model is in model/). */
export async function resolveModelDir(dir: string): Promise<string> {
  const hasMeta = async (d: string) => Boolean(await fs.stat(path.join(d, 'metadata.json')).catch(() => null));
  if (await hasMeta(dir)) return dir;
  if (await hasMeta(path.join(dir, 'model'))) return path.join(dir, 'model');
  if (!(await fs.stat(dir).catch(() => null))) throw new ModelLoadError(`${dir}: model folder not found`);
  throw new ModelLoadError(`${dir}: not a model folder (no metadata.json; expected model.json, weights.bin, metadata.json)`);
}

export async function loadModelArg(dir: string): Promise<EmotionModel> {
  return loadModelFolder(await resolveModelDir(dir));
}

const pct = (v: number) => (100 * v).toFixed(2);

export async function evalCommand(argv: string[]): Promise<number> {
  const { values: v } = parseCommand('eval', argv, {
    model: { type: 'string' },
    data: { type: 'string' },
    split: { type: 'string' },
    json: { type: 'boolean' },
    dedupe: { type: 'boolean' },
    report: { type: 'string' },
    limit: { type: 'string' },
    ferplus: { type: 'string' },
    'skip-bad': { type: 'boolean' },
    backend: { type: 'string' },
    tta: { type: 'string' },
    faces: { type: 'string' },
  });
  if (!v.data) throw new UsageError('eval: --data <csv|csv.gz|folder> is required (see emodetect eval --help)');
  const backend = choiceOption<CliBackend>('eval', 'backend', v.backend, CLI_BACKENDS, 'auto');
  const limit = v.limit === undefined ? undefined : intOption('eval', 'limit', v.limit, 1);
  // stderr keeps its progress and both accuracies with --json: only stdout is for the JSON.
  const log = stderrLog();

  const modelDir = await resolveModelDir(v.model ?? bundledModelDir());
  const info = await initNodeBackend({ backend: tfjsBackend(backend) });
  log.info(describeBackend(info));
  const m = await loadModelFolder(modelDir);
  if (v.tta) m.metadata.tta = choiceOption('eval', 'tta', v.tta, ['none', 'flip', 'views'] as const, m.metadata.tta);
  log.info(classifierRuntime('eval', backend, m, log));
  const faces = v.faces === undefined ? undefined : choiceOption('eval', 'faces', v.faces, ['detect', 'box'] as const, 'detect');
  const photos = await isPhotoCsv(v.data);
  if (faces && !photos) throw new UsageError(`eval: --faces applies to labelled-photo CSVs (columns file, emotion, ...), not to ${v.data}`);
  const ds = photos
    ? await loadPhotoFaces(v.data, m.metadata.input, m.metadata.crop, faces ?? 'detect', log)
    : await loadDataset(v.data, { skipBad: Boolean(v['skip-bad']), size: m.metadata.input.width, ferPlus: v.ferplus }, log);
  const defaultSplit = ['PrivateTest', 'test', 'val'].find((s) => s === 'val' || ds.splitNames.includes(s)) ?? 'val';
  const split = v.split ?? defaultSplit;
  const seed = m.metadata.training?.seed ?? 42;
  let idx: number[];
  try {
    idx = indicesForSplit(ds, split, seed);
  } catch (e) {
    throw new UsageError(`eval: ${(e as Error).message}`);
  }
  if (limit !== undefined) idx = stratifiedSample(ds.labels, idx, limit, seed);
  const reference = split.toLowerCase() === 'training' ? [] : splitIndices(ds, 'Training');
  const t0 = performance.now();
  const e = await evaluateLeakAware(m, ds, idx, reference, (done, total) => log.progress(`classifying ${done}/${total}`, done / total));
  const secs = (performance.now() - t0) / 1000;
  // --dedupe reports (and prints as JSON) only the faces that are not also in Training.
  const r = v.dedupe ? e.dedup : e.all;
  const what = `${split}${v.ferplus ? ' (FER+ labels)' : ''}${v.dedupe ? ` without ${e.duplicates} faces also in Training` : ''}`;
  log.info(
    `${modelDir} on ${what} (${r.n} images): accuracy ${pct(r.accuracy)}%, macro F1 ${pct(r.macroF1)}% [${(e.all.n / secs).toFixed(0)} img/s]`,
  );
  if (!v.dedupe && e.duplicates) {
    log.info(
      `  without the ${e.duplicates} faces that are pixel-identical to Training faces (${e.dedup.n} images): accuracy ${pct(e.dedup.accuracy)}%, macro F1 ${pct(e.dedup.macroF1)}%`,
    );
  }
  if (v.report) {
    await fs.mkdir(v.report, { recursive: true });
    await fs.writeFile(path.join(v.report, 'report.md'), reportMarkdown(r, `${m.metadata.name} on ${split}`));
    await fs.writeFile(path.join(v.report, 'report.json'), JSON.stringify(r, null, 2) + '\n');
    await fs.writeFile(path.join(v.report, 'confusion.svg'), confusionMatrixSvg(r, { title: `${m.metadata.name} on ${split}` }));
    log.info(`report written to ${v.report}/`);
  }
  if (v.json) {
    const { n, accuracy, macroF1, labels, perClass, confusionMatrix } = r;
    process.stdout.write(JSON.stringify({ n, accuracy, macroF1, labels, perClass, confusionMatrix }) + '\n');
  } else if (!v.report) {
    process.stdout.write(reportMarkdown(r, `${m.metadata.name} on ${split}`));
  }
  return 0;
}
