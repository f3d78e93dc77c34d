/** `emodetect train`: FER2013 CSV or image folder in, a run folder with the best model out. */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describeBackend, initNodeBackend, BACKEND_NAMES } from '@emodetect/backend/node';
import { DEFAULT_AUGMENT, DETECTOR_AUGMENT, NO_AUGMENT, ROBUST_AUGMENT, type AugmentConfig } from '@emodetect/augment';
import { confusionMatrixSvg, reportMarkdown } from '@emodetect/metrics';
import { ARCHITECTURE_NAMES, DEFAULT_INPUT, createModel, saveModelFolder, loadModelFolder, type EmotionModel } from '@emodetect/model/node';
import { DEFAULT_CROP, fileSha256 } from '@emodetect/preprocess/node';
import { bf16Support, createNativeEngine, defaultNativeThreads, nativeSpec, nativeStatus, useNativeInference } from '@emodetect/native';
import { CLI_BACKENDS, chooseNative, tfjsBackend, type CliBackend } from './native.ts';
import {
  DEFAULT_TRAIN_CONFIG,
  defaultWorkers,
  evaluate,
  fitPriorCorrection,
  readCheckpoint,
  runPaths,
  train,
  type TrainConfig,
} from '@emodetect/train/node';
import { choiceOption, intOption, numberOption, parseCommand } from './args.ts';
import { UsageError } from './errors.ts';
import { lockFolder, Outputs } from './outputs.ts';
import { loadSources, type SourceSpec } from './sources.ts';
import { distil, onlineTeachers } from './teacher.ts';
import { stderrLog } from './log.ts';

export const TRAIN_HELP = `emodetect train --data <csv|csv.gz|folder> [--data ...] [--photos <folder|csv>] [options]

Train an emotion CNN. FER2013 CSVs use their official splits (Training to train, PublicTest to
validate); image folders (<root>/<split>/<class>/*.png) use train and val/validation folders, or
a stratified 80/20 split of train. Photos (a labelled CSV such as ExpW's, or --photos folders) go
through the face detector and are cut as detect cuts them, once, then cached; their validation
part is 15% of train (whole photos), unless they have a val split; a test split is never used.
Several sources train together, each drawn by its weight; the best model is the one with the
highest mean of the sources' validation accuracies. Writes a run folder:
  <out>/model/      best model by validation accuracy (model.json, weights.bin, metadata.json)
  <out>/last/       checkpoint of the last epoch (replaced atomically each epoch; for --resume)
  <out>/log.jsonl   one JSON line per epoch
  <out>/report.md, <out>/confusion-val.svg   validation report of the best model

Options:
  --data <path>          FER2013 CSV (.csv or .csv.gz), folder of face crops, or labelled-photo CSV
                         (columns file, emotion[, split, photo, box_x, box_y, box_width, box_height]);
                         repeat for several sources (required)
  --photos <folder|csv>  photos (<root>/<split>/<class>/*.jpg) whose faces the detector finds; repeatable
  --weights W[,W...]     sampling weight per source, in order (all --data, then all --photos; default 1 each):
                         each training face is drawn W times per epoch (fractions: a stratified part once more)
  --arch <name>          ${ARCHITECTURE_NAMES.join(' | ')} (default: small)
  --epochs N             epochs (default: ${DEFAULT_TRAIN_CONFIG.epochs})
  --batch N              batch size (default: ${DEFAULT_TRAIN_CONFIG.batchSize})
  --lr X                 peak Adam learning rate (default: ${DEFAULT_TRAIN_CONFIG.learningRate})
  --schedule S           cosine | constant (default: cosine, with 1 warm-up epoch)
  --label-smoothing X    0..0.5 (default: ${DEFAULT_TRAIN_CONFIG.labelSmoothing})
  --class-weights W      none | balanced (default: none)
  --patience N           early stopping after N epochs without improvement, 0 = off (default: ${DEFAULT_TRAIN_CONFIG.patience})
  --augment A            default | detector | robust | none (default: default). detector also varies crops the way
                         a face detector's boxes do: zoom ±20%, shift ±12%, rotation ±15°, aspect ±10%; robust adds
                         random bad light (gamma, side light), blur, low resolution, noise and occluders
  --no-augment           the same as --augment none
  --mixup A              mixup: blend each augmented face, its target and loss weight with another face of the
                         batch, λ ~ Beta(A, A) folded to ≥ 0.5 (online teachers see the blend); 0 = off (default: 0)
  --tta T                none | flip | views: test-time augmentation declared in the model (default: none)
  --out <dir>            run folder (default: runs/<arch>)
  --resume               continue the run in --out from its last checkpoint
  --init <model-dir>     start from this model's weights (same --arch and labels) with a fresh
                         optimiser and schedule: fine-tuning, or a second schedule on a trained model
  --workers N|auto       data-parallel worker threads per batch (default: auto = one per core, at most 4,
                         on the wasm and cpu backends, 1 on GPU backends);
                         part of the run: the same seed and worker count give the same weights
  --seed N               seed for weights, shuffling, augmentation, dropout (default: ${DEFAULT_TRAIN_CONFIG.seed})
  --limit N              train on a stratified subset of N training images (of each source)
  --val-limit N          validate on a stratified subset of N validation images (of each source)
  --ferplus <csv>        relabel FER2013 with FER+ votes (fer2013new.csv)
  --ferplus-mode M       majority | soft (default: majority)
  --teacher <model-dir>  distil: blend each training face's target with this model's probabilities
                         (or a teacher-labels .json file of per-row probabilities, tools/gpu/teachers.py)
                         (repeat the option to average several teachers: an ensemble)
  --teacher-weight X     0..1, the teachers' share of the target (default: 0.7)
  --teacher-online       the teachers see every augmented batch while training (native backend),
                         instead of each plain face once before training: richer targets, slower steps
  --prior P              fit | none: fit a prior correction (a weight per class, stored in the model and applied
                         by every runtime) on the sources' validation parts after training, so that rare
                         classes are not traded for frequent ones (default: fit with several sources, else none)
  --skip-bad             skip unreadable rows/images (each is reported) instead of stopping
  --backend B            native | ${BACKEND_NAMES.join(' | ')} (default: auto = native when it is built
                         and runs the architecture, else the best tfjs backend). native runs the whole
                         step in C++ on oneDNN (Linux x64; needs libdnnl-dev, see README)
  --threads N            native backend: CPU threads (default: ${defaultNativeThreads()}, or $EMODETECT_NATIVE_THREADS)
  --precision P          native backend: fp32 | bf16 (default: fp32). bf16 runs the convolutions after the
                         first in bfloat16 (AVX512-BF16 CPUs), about 1.5x faster; weights stay f32`;

export async function trainCommand(argv: string[]): Promise<number> {
  const { values: v } = parseCommand('train', argv, {
    data: { type: 'string', multiple: true },
    photos: { type: 'string', multiple: true },
    weights: { type: 'string' },
    arch: { type: 'string' },
    epochs: { type: 'string' },
    batch: { type: 'string' },
    lr: { type: 'string' },
    schedule: { type: 'string' },
    'label-smoothing': { type: 'string' },
    'class-weights': { type: 'string' },
    patience: { type: 'string' },
    'no-augment': { type: 'boolean' },
    augment: { type: 'string' },
    mixup: { type: 'string' },
    tta: { type: 'string' },
    out: { type: 'string' },
    resume: { type: 'boolean' },
    init: { type: 'string' },
    seed: { type: 'string' },
    workers: { type: 'string' },
    limit: { type: 'string' },
    'val-limit': { type: 'string' },
    ferplus: { type: 'string' },
    'ferplus-mode': { type: 'string' },
    teacher: { type: 'string', multiple: true },
    'teacher-weight': { type: 'string' },
    'teacher-online': { type: 'boolean' },
    'skip-bad': { type: 'boolean' },
    prior: { type: 'string' },
    backend: { type: 'string' },
    threads: { type: 'string' },
    precision: { type: 'string' },
  });
  const cmd = 'train';
  if (!v.data?.length) throw new UsageError('train: --data <csv|csv.gz|folder> is required (see emodetect train --help)');
  const dataPaths = [...v.data, ...(v.photos ?? [])];
  const weights = v.weights === undefined ? dataPaths.map(() => 1) : v.weights.split(',').map((w) => Number(w.trim()));
  if (weights.length !== dataPaths.length || weights.some((w) => !(w > 0 && w <= 100)))
    throw new UsageError(
      `train: --weights ${v.weights}: give one weight in (0, 100] per source, in order (${dataPaths.length}: ${dataPaths.join(', ')})`,
    );
  const specs: SourceSpec[] = dataPaths.map((p, i) => ({ path: p, weight: weights[i], photos: i >= v.data!.length }));
  const arch = choiceOption(cmd, 'arch', v.arch, ARCHITECTURE_NAMES, 'small');
  const requested = choiceOption<CliBackend>(cmd, 'backend', v.backend, CLI_BACKENDS, 'auto');
  const threads = v.threads === undefined ? defaultNativeThreads() : intOption(cmd, 'threads', v.threads, 1);
  const precision = choiceOption(cmd, 'precision', v.precision, ['fp32', 'bf16'] as const, 'fp32');
  const runDir = v.out ?? path.join('runs', arch);
  const log = stderrLog();

  let config: TrainConfig = {
    ...DEFAULT_TRAIN_CONFIG,
    epochs: intOption(cmd, 'epochs', v.epochs, DEFAULT_TRAIN_CONFIG.epochs),
    batchSize: intOption(cmd, 'batch', v.batch, DEFAULT_TRAIN_CONFIG.batchSize),
    learningRate: numberOption(cmd, 'lr', v.lr, DEFAULT_TRAIN_CONFIG.learningRate, 1e-7, 1),
    schedule: choiceOption(cmd, 'schedule', v.schedule, ['cosine', 'constant'] as const, 'cosine'),
    labelSmoothing: numberOption(cmd, 'label-smoothing', v['label-smoothing'], DEFAULT_TRAIN_CONFIG.labelSmoothing, 0, 0.5),
    classWeights: choiceOption(cmd, 'class-weights', v['class-weights'], ['none', 'balanced'] as const, 'none'),
    patience: intOption(cmd, 'patience', v.patience, DEFAULT_TRAIN_CONFIG.patience, 0),
    seed: intOption(cmd, 'seed', v.seed, DEFAULT_TRAIN_CONFIG.seed, 0),
    augment: withMixup(
      { none: NO_AUGMENT, default: DEFAULT_AUGMENT, detector: DETECTOR_AUGMENT, robust: ROBUST_AUGMENT }[
        v['no-augment'] ? 'none' : choiceOption(cmd, 'augment', v.augment, ['default', 'detector', 'robust', 'none'] as const, 'default')
      ],
      numberOption(cmd, 'mixup', v.mixup, 0, 0, 10),
    ),
    // Resolved after the backend is chosen (auto: one per core on CPU backends, 1 on a GPU).
    workers: v.workers === undefined || v.workers === 'auto' ? 0 : intOption(cmd, 'workers', v.workers, 1),
  };
  const tta = choiceOption(cmd, 'tta', v.tta, ['none', 'flip', 'views'] as const, 'none');
  const limit = v.limit === undefined ? undefined : intOption(cmd, 'limit', v.limit, 0);
  const valLimit = v['val-limit'] === undefined ? undefined : intOption(cmd, 'val-limit', v['val-limit'], 0);
  const ferPlusMode = choiceOption(cmd, 'ferplus-mode', v['ferplus-mode'], ['majority', 'soft'] as const, 'majority');
  if (v['teacher-weight'] !== undefined && !v.teacher) throw new UsageError('train: --teacher-weight needs --teacher');
  if (v['teacher-online'] && !v.teacher) throw new UsageError('train: --teacher-online needs --teacher');
  const teacherWeight = numberOption(cmd, 'teacher-weight', v['teacher-weight'], 0.7, 0, 1);
  const prior = choiceOption(cmd, 'prior', v.prior, ['fit', 'none'] as const, dataPaths.length > 1 ? 'fit' : 'none');

  let resume: Awaited<ReturnType<typeof readCheckpoint>> | undefined;
  if (v.resume && v.init) throw new UsageError('train: --init and --resume exclude each other (a resumed run keeps its own weights)');
  // The run folder: never an input or inside one; a new run only in a new or empty folder; one
  // run at a time (the lock is taken before anything is written).
  const inputs = [...dataPaths, ...(v.init ? [v.init] : []), ...(v.teacher ?? [])];
  await new Outputs({ command: cmd, inputs, overwrite: false }).outsideInputs(runDir, '--out', true);
  if (v.resume) {
    const last = runPaths(runDir).last;
    if (!(await fs.stat(last).catch(() => null)))
      throw new UsageError(`train: --resume: ${last} not found (no checkpoint to resume in ${runDir})`);
  } else if (await fs.stat(runPaths(runDir).last).catch(() => null)) {
    throw new UsageError(`train: ${runDir} already holds a run; add --resume to continue it or choose another --out`);
  } else {
    const stat = await fs.stat(runDir).catch(() => null);
    if (stat && !stat.isDirectory()) throw new UsageError(`train: --out ${runDir} is a file; choose a folder`);
    const names = stat ? (await fs.readdir(runDir)).filter((n) => n !== '.lock') : [];
    if (names.length)
      throw new UsageError(`train: --out ${runDir} already holds files (${names.slice(0, 3).join(', ')}); choose a new or empty folder`);
  }
  const unlock = await lockFolder(runDir, cmd);
  try {
    return await trainInFolder();
  } finally {
    await unlock();
  }
  async function trainInFolder(): Promise<number> {
    // The native backend runs the steps; tfjs (wasm here) still holds the model, saves it and is the
    // fallback. `auto` takes native when the library loads and runs this architecture.
    const info = await initNodeBackend({ backend: tfjsBackend(requested) });
    const useNative = chooseNative(cmd, requested, { arch }, log);
    if (v.precision && !useNative) throw new UsageError('train: --precision applies to the native backend only');
    const bf16 = precision === 'bf16' ? bf16Support() : undefined;
    if (bf16 && !bf16.ok) throw new UsageError(`train: --precision bf16: ${bf16.reason}`);
    if (v['teacher-online'] && !useNative)
      throw new UsageError('train: --teacher-online needs the native backend (build it, see README), or drop the option');
    if (useNative) config.workers = 1;
    else if (config.workers === 0) config.workers = ['wasm', 'cpu'].includes(info.name) ? defaultWorkers() : 1;
    if (!useNative) {
      log.info(describeBackend(info));
      for (const s of info.skipped) log.info(`  (skipped ${s.backend}: ${s.reason})`);
    }

    if (v.resume) {
      resume = await readCheckpoint(runDir);
      // The run's own configuration wins, except for the number of epochs, which may be extended:
      // an option given with another value than the run's is refused, never silently ignored.
      const was = resume.config;
      const changed = [
        v.arch !== undefined && arch !== resume.model.metadata.arch && `--arch ${resume.model.metadata.arch}`,
        v.batch !== undefined && config.batchSize !== was.batchSize && `--batch ${was.batchSize}`,
        v.lr !== undefined && config.learningRate !== was.learningRate && `--lr ${was.learningRate}`,
        v.schedule !== undefined && config.schedule !== was.schedule && `--schedule ${was.schedule}`,
        v['label-smoothing'] !== undefined && config.labelSmoothing !== was.labelSmoothing && `--label-smoothing ${was.labelSmoothing}`,
        v['class-weights'] !== undefined && config.classWeights !== was.classWeights && `--class-weights ${was.classWeights}`,
        v.patience !== undefined && config.patience !== was.patience && `--patience ${was.patience}`,
        v.seed !== undefined && config.seed !== was.seed && `--seed ${was.seed}`,
        (v['no-augment'] || v.augment !== undefined || v.mixup !== undefined) &&
          JSON.stringify(config.augment) !== JSON.stringify(was.augment) &&
          `other augmentation (${JSON.stringify(was.augment)})`,
      ].filter((x): x is string => typeof x === 'string');
      if (changed.length)
        throw new UsageError(
          `train: --resume: this run was started with ${changed.join(', ')}; a resumed run keeps its settings (only --epochs may change)`,
        );
      config = { ...resume.config, epochs: v.epochs ? config.epochs : resume.config.epochs };
      if (useNative) config.workers = 1;
      log.info(
        `resuming ${runDir} after epoch ${resume.state.epoch} (best val acc ${(100 * resume.state.bestValAccuracy).toFixed(1)}% at epoch ${resume.state.bestEpoch})`,
      );
    }

    // Photos are cut with the crop geometry of the model that will see them.
    const cropFrom = resume?.model ?? (v.init ? await loadModelFolder(v.init).catch(() => undefined) : undefined);
    const crop = { ...DEFAULT_CROP, ...cropFrom?.metadata.crop };
    if (cropFrom && cropFrom !== resume?.model) cropFrom.model.dispose();
    const { mixed, records, description } = await loadSources(
      specs,
      {
        skipBad: Boolean(v['skip-bad']),
        size: 48,
        ferPlus: v.ferplus,
        ferPlusMode,
        input: DEFAULT_INPUT,
        crop,
        seed: config.seed,
        limit,
        valLimit,
      },
      log,
    );
    const was = resume?.model.metadata.training?.sources;
    if (was && JSON.stringify(was.map((r) => [r.name, r.weight])) !== JSON.stringify(records.map((r) => [r.name, r.weight])))
      throw new UsageError(
        `train: --resume: this run was started with the sources ${was.map((r) => `${r.file} (weight ${r.weight})`).join(', ')}; a resumed run keeps them`,
      );
    const ds = mixed.data;
    const trainIdx = mixed.train;
    const val = mixed.val;
    const splits = { description };
    if (mixed.summary.length > 1)
      for (const s of mixed.summary)
        log.info(`source ${s.name}: ${s.train} training faces x weight ${s.weight} = ${s.perEpoch} per epoch, ${s.val} for validation`);
    log.info(`splits: ${splits.description}; training on ${trainIdx.length}, validating on ${val.length} images`);
    if (v.teacher?.length && !v['teacher-online'] && mixed.summary.length > 1)
      throw new UsageError('train: offline --teacher labels join FER2013 rows; with several sources use --teacher-online');
    const online = v['teacher-online'] && v.teacher?.length ? await onlineTeachers(v.teacher, ds, teacherWeight) : undefined;
    if (v.teacher?.length && !online) {
      const fast = (m: EmotionModel) => (useNative || requested === 'auto' ? nativeTeacher(m) : null);
      log.info(await distil(ds, trainIdx, v.teacher, teacherWeight, log, fast));
    }

    const model =
      resume?.model ??
      (v.init ? await initialModel(v.init, arch, ds.classNames) : undefined) ??
      createModel({ arch, tta, seed: config.seed, labels: ds.classNames, name: runName(runDir) });
    // A run's model is named after its run folder, not after the model it started from.
    if (!resume) model.metadata.name = runName(runDir);
    // --init keeps the test-time views of the model it starts from, unless --tta says otherwise.
    if (!resume && v.init && v.tta) model.metadata.tta = tta;
    const engine = useNative
      ? createNativeEngine(model, {
          batchSize: config.batchSize,
          threads,
          precision,
          optimizerWeights: resume?.optimizerWeights,
          teachers: online,
        })
      : undefined;
    // The native engine holds its own copies of the teachers.
    online?.models.forEach((m) => m.model.dispose());
    if (online) log.info(`distilling online from ${online.models.map((m) => m.metadata.name).join(', ')}, teacher weight ${teacherWeight}`);
    if (engine) log.info(`backend: ${engine.description}; tfjs ${info.name} saves and loads the model`);
    const runner = engine ? engine.description : `${config.workers} worker${config.workers > 1 ? 's' : ''}`;
    log.info(
      `model: ${model.metadata.arch}, ${model.metadata.parameters.toLocaleString('en-US')} parameters; ${config.epochs} epochs, batch ${config.batchSize}, lr ${config.learningRate}, seed ${config.seed}, ${runner}`,
    );

    // A resumed run keeps the command that started it (recorded in its checkpoint's metadata).
    const command = resume?.model.metadata.training?.command ?? ['emodetect', 'train', ...argv].join(' ');
    const dataSha256 = records.length === 1 ? records[0].sha256 : await fileSha256(dataPaths[0]).catch(() => 'folder');
    const t0 = performance.now();
    const result = await train({
      model,
      data: { data: ds, train: trainIdx, val, valGroups: mixed.valGroups },
      config,
      runDir,
      resume,
      engine,
      backend: info.backend,
      beforeSave: (m, state) => {
        m.metadata.training = {
          command,
          seed: config.seed,
          dataFile: records.map((r) => r.file).join(', '),
          ...(records.length > 1 || records[0].kind === 'photos' ? { sources: records } : {}),
          dataSha256,
          trainImages: trainIdx.length,
          epochs: state.epoch,
          batchSize: config.batchSize,
          backend: engine ? 'native' : info.name,
          hardware: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'} (${runner})`,
          wallSeconds: Math.round((performance.now() - t0) / 1000),
          finishedAt: new Date().toISOString(),
        };
      },
    });

    const paths = runPaths(runDir);
    if (result.interrupted) {
      log.info(`stopped after epoch ${result.state.epoch}; continue with: emodetect train ${resumeArgs(argv).join(' ')}`);
      return 130;
    }
    // Final report on the validation set with the best model.
    const best = await loadModelFolder(paths.best);
    // The report's passes run natively when the steps did (the same answers, much faster than wasm).
    const bestNative = useNative ? nativeTeacher(best) : null;
    if (prior === 'fit') {
      const fitted = await fitPriorCorrection(
        best,
        ds,
        mixed.valGroups.map((g) => ({ name: `${g.name}/val`, indices: g.indices })),
      );
      best.metadata.priorCorrection = fitted.correction;
      log.info(
        `prior correction fitted on ${fitted.correction.fittedOn.join(', ')}: ${best.metadata.labels.map((l, i) => `${l} x${fitted.correction.weights[i].toFixed(2)}`).join(', ')} (mean of (accuracy + macro F1) / 2 over the sources: ${(100 * fitted.before).toFixed(2)}% → ${(100 * fitted.after).toFixed(2)}%)`,
      );
    }
    const report = await evaluate(best, ds, val);
    best.metadata.metrics = [{ split: 'val', n: report.n, accuracy: report.accuracy, macroF1: report.macroF1 }];
    if (mixed.valGroups.length > 1)
      for (const g of mixed.valGroups) {
        const r = await evaluate(best, ds, g.indices);
        best.metadata.metrics.push({ split: `${g.name}/val`, n: r.n, accuracy: r.accuracy, macroF1: r.macroF1 });
        log.info(`validation on ${g.name}: ${(100 * r.accuracy).toFixed(2)}% (macro F1 ${(100 * r.macroF1).toFixed(1)}%, ${r.n} faces)`);
      }
    bestNative?.dispose();
    await saveModelFolder(best, paths.best);
    await fs.writeFile(
      path.join(runDir, 'report.md'),
      reportMarkdown(report, `Validation (${splits.description}), best epoch ${result.state.bestEpoch}`),
    );
    await fs.writeFile(path.join(runDir, 'confusion-val.svg'), confusionMatrixSvg(report, { title: `${best.metadata.name}: validation` }));
    log.info(
      `${result.stoppedEarly ? 'early stop' : 'done'}: best val accuracy ${(100 * report.accuracy).toFixed(2)}% (macro F1 ${(100 * report.macroF1).toFixed(1)}%) at epoch ${result.state.bestEpoch}; model in ${paths.best}`,
    );
    return 0;
  }
}

/** The model named by --init, checked against the run's architecture and the dataset's classes. */
async function initialModel(dir: string, arch: string, labels: readonly string[]) {
  const model = await loadModelFolder(dir).catch((e: unknown) => {
    throw new UsageError(`train: --init ${dir}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const problem =
    model.metadata.arch !== arch
      ? `its architecture is ${model.metadata.arch}, not --arch ${arch}`
      : model.metadata.labels.join(',') !== labels.join(',')
        ? `its labels (${model.metadata.labels.join(', ')}) differ from the dataset's (${labels.join(', ')})`
        : undefined;
  if (problem) {
    model.model.dispose();
    throw new UsageError(`train: --init ${dir}: ${problem}`);
  }
  model.metadata.metrics = [];
  // A prior correction belongs to the weights it was fitted on.
  delete model.metadata.priorCorrection;
  return model;
}

/** The name a run gives its model: its folder's name. */
function runName(runDir: string): string {
  return path.basename(path.resolve(runDir));
}

/**
 * The command line that continues an interrupted run: the same options with `--resume`, less
 * `--init` (a resumed run keeps its own weights, and the two options exclude each other).
 */
export function resumeArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--resume' || a.startsWith('--init=')) continue;
    if (a === '--init') {
      i++;
      continue;
    }
    out.push(a);
  }
  return [...out, '--resume'];
}

/** A model's native executor (a teacher, or the final report's) when the library loads and runs its layers, else null (tfjs). */
function nativeTeacher(m: EmotionModel): { description: string; dispose(): void } | null {
  if (!nativeStatus().available) return null;
  try {
    nativeSpec(m.model);
  } catch {
    return null;
  }
  return useNativeInference(m);
}

/** The augmentation with mixup's alpha added when it is on (off leaves the configuration as it was, so runs without it keep their identity). */
function withMixup(augment: AugmentConfig, alpha: number): AugmentConfig {
  return alpha > 0 ? { ...augment, mixup: alpha } : augment;
}
