/**
 * Node entry point of @emodetect/train: a run folder with atomic per-epoch checkpoints, resume,
 * and progress on the terminal (a bar on a TTY, JSON lines otherwise).
 */
import { promises as fs } from 'node:fs';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '@emodetect/backend';
import { trainingCurvesSvg } from '@emodetect/metrics';
import { loadModelFolder, saveModelFolder, writeAtomically, type EmotionModel } from '@emodetect/model/node';
import {
  trainModel,
  type NamedTensor,
  type BatchProgress,
  type EpochRecord,
  type TrainConfig,
  type TrainData,
  type TrainResult,
  type TrainState,
  type StepEngine,
} from './loop.ts';

import type { ShardRequest, ShardResult, ShardWorker } from './shard.ts';
import type { WorkerInit } from './worker.ts';

export * from './index.ts';

/** Data-parallel shards that pay off here: one per core, at most 4. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(4, availableParallelism()));
}

/**
 * Start `count` worker threads, each holding a replica of `m` on the given tfjs backend, that
 * compute training shards in parallel with the main thread.
 */
export async function startShardWorkers(m: EmotionModel, count: number, backend: Exclude<BackendName, 'auto'>): Promise<ShardWorker[]> {
  const init: WorkerInit = {
    backend,
    arch: m.metadata.arch,
    labels: m.metadata.labels,
    input: m.metadata.input,
  };
  return Promise.all(Array.from({ length: count }, () => startWorker(init)));
}

function startWorker(init: WorkerInit): Promise<ShardWorker> {
  const worker = new Worker(new URL('./worker-entry.mjs', import.meta.url), { workerData: init });
  let pending: { resolve: (r: ShardResult) => void; reject: (e: Error) => void } | null = null;
  return new Promise((resolveReady, rejectReady) => {
    worker.on('error', (e) => (pending ? pending.reject(e) : rejectReady(e)));
    worker.on('exit', (code) => {
      if (code !== 0) pending?.reject(new Error(`training worker exited with code ${code}`));
    });
    worker.on('message', (msg: { ready?: boolean; ok?: boolean; result?: ShardResult; error?: string }) => {
      if (msg.ready) {
        resolveReady({
          run(req: ShardRequest, weights: Float32Array[]) {
            return new Promise<ShardResult>((resolve, reject) => {
              pending = { resolve, reject };
              const transfer = [req.pixels.buffer, req.targets.buffer, req.sampleWeights.buffer, ...weights.map((w) => w.buffer)];
              worker.postMessage({ req, weights }, transfer as ArrayBuffer[]);
            });
          },
          async dispose() {
            await worker.terminate();
          },
        });
        return;
      }
      const p = pending;
      pending = null;
      if (msg.ok && msg.result) p?.resolve(msg.result);
      else p?.reject(new Error(`training worker: ${msg.error}`));
    });
  });
}

/** Layout of a run folder. */
export function runPaths(runDir: string) {
  return {
    /** The best model so far (by validation accuracy): a complete model folder. */
    best: path.join(runDir, 'model'),
    /** The last completed epoch: model folder + optimizer state + train state. */
    last: path.join(runDir, 'last'),
    log: path.join(runDir, 'log.jsonl'),
    /** Loss and accuracy per epoch, training vs validation (SVG). */
    curves: path.join(runDir, 'curves.svg'),
  };
}

export interface Checkpoint {
  model: EmotionModel;
  state: TrainState;
  config: TrainConfig;
  optimizerWeights: NamedTensor[];
}

/** Read the `last/` checkpoint of a run folder. */
export async function readCheckpoint(runDir: string): Promise<Checkpoint> {
  const dir = runPaths(runDir).last;
  const model = await loadModelFolder(dir);
  const read = async (f: string) =>
    fs.readFile(path.join(dir, f)).catch(() => {
      throw new Error(`${path.join(dir, f)}: missing (the checkpoint is incomplete)`);
    });
  const { state, config, optimizerSpecs } = JSON.parse((await read('train-state.json')).toString('utf8')) as {
    state: TrainState;
    config: TrainConfig;
    optimizerSpecs: tf.io.WeightsManifestEntry[];
  };
  const bin = await read('optimizer.bin');
  const map = tf.io.decodeWeights(bin.buffer.slice(bin.byteOffset, bin.byteOffset + bin.byteLength) as ArrayBuffer, optimizerSpecs);
  return { model, state, config, optimizerWeights: optimizerSpecs.map((s) => ({ name: s.name, tensor: map[s.name] })) };
}

export interface RunOptions {
  model: EmotionModel;
  data: TrainData;
  config: TrainConfig;
  runDir: string;
  resume?: Checkpoint;
  /** Progress sink; default {@link consoleProgress}. */
  progress?: ProgressSink;
  /**
   * Runs the steps instead of tfjs (e.g. `createNativeEngine` from @emodetect/native, made from the
   * same model and, when resuming, the same checkpoint's optimizer state). Disposed at the end.
   */
  engine?: StepEngine;
  /**
   * The backend the worker threads start (`config.workers` > 1 on tfjs): the one this thread runs,
   * as `initBackend` reported it (`BackendInfo.backend`).
   */
  backend?: Exclude<BackendName, 'auto'>;
  /**
   * Called after every epoch, before its checkpoint (and the best model, when it improved) is
   * saved: e.g. to fill metadata, which a resumed run then finds in its checkpoint.
   */
  beforeSave?(m: EmotionModel, state: TrainState): void;
}

export interface ProgressSink {
  batch(p: BatchProgress): void;
  epoch(r: EpochRecord, improved: boolean): void;
  message(text: string): void;
}

/**
 * Train with a run folder: after every epoch `last/` is replaced atomically (weights, optimizer,
 * state), and `model/` whenever validation accuracy improves. SIGINT stops after the current
 * batch and keeps the last completed epoch, so `--resume` continues from it.
 */
export async function train(o: RunOptions): Promise<TrainResult> {
  const p = runPaths(o.runDir);
  await fs.mkdir(o.runDir, { recursive: true });
  const sink = o.progress ?? consoleProgress();
  const parallel = !o.engine && o.config.workers > 1;
  if (parallel && !o.backend) throw new Error('train: workers > 1 needs the backend they start (RunOptions.backend)');
  const workers = parallel ? await startShardWorkers(o.model, o.config.workers - 1, o.backend!) : [];
  let stop = false;
  const onSigint = () => {
    if (stop) process.exit(130);
    stop = true;
    sink.message('interrupted: stopping after this batch (Ctrl-C again to quit now); --resume continues from the last epoch');
  };
  process.on('SIGINT', onSigint);
  try {
    return await trainModel(
      o.model,
      o.data,
      o.config,
      {
        shouldStop: () => stop,
        onBatch: (b) => sink.batch(b),
        onEpochEnd: async (record, state, improved, optimizerWeights) => {
          const weights = await optimizerWeights();
          const encoded = await tf.io.encodeWeights(weights);
          tf.dispose(weights.map((w) => w.tensor));
          const trainState = JSON.stringify({ state, config: o.config, optimizerSpecs: encoded.specs });
          const optimizerBin = new Uint8Array(encoded.data as ArrayBuffer);
          o.beforeSave?.(o.model, state);
          await saveModelFolder(o.model, p.last, { 'train-state.json': trainState, 'optimizer.bin': optimizerBin });
          if (improved) await saveModelFolder(o.model, p.best);
          await fs.appendFile(p.log, JSON.stringify({ ...record, improved }) + '\n');
          await writeAtomically(p.curves, trainingCurvesSvg(state.history, `${o.model.metadata.name}: training curves`));
          sink.epoch(record, improved);
        },
      },
      o.resume ? { state: o.resume.state, optimizerWeights: o.resume.optimizerWeights } : undefined,
      workers,
      o.engine,
    );
  } finally {
    o.engine?.dispose();
    process.off('SIGINT', onSigint);
    await Promise.all(workers.map((w) => w.dispose()));
  }
}

const fmtTime = (s: number) => {
  if (!Number.isFinite(s)) return '--:--';
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = Math.floor(s % 60);
  return h ? `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}` : `${m}:${String(sec).padStart(2, '0')}`;
};

/** A text progress bar for a terminal: `fraction` (0..1) of `width` cells filled. */
export function progressBar(fraction: number, width = 20): string {
  const filled = Math.round(Math.max(0, Math.min(1, fraction)) * width);
  return '█'.repeat(filled) + '░'.repeat(width - filled);
}

/**
 * Progress on stderr: on a TTY a live bar with loss, accuracy, img/s and ETA, plus one line per
 * epoch; otherwise JSON lines (one per epoch, one every `everyBatches` batches).
 */
export function consoleProgress(stream: NodeJS.WriteStream = process.stderr, everyBatches = 50): ProgressSink {
  const tty = Boolean(stream.isTTY) && process.env.EMODETECT_PROGRESS !== 'json';
  let lastDraw = 0;
  return {
    batch(b) {
      if (!tty) {
        if (b.batch % everyBatches === 0) stream.write(JSON.stringify({ type: 'batch', ...b }) + '\n');
        return;
      }
      const now = performance.now();
      if (now - lastDraw < 100 && b.batch !== b.batches) return;
      lastDraw = now;
      const bar = progressBar(b.batch / b.batches, 24);
      stream.write(
        `\r\x1b[2Kepoch ${b.epoch}/${b.epochs} ${bar} ${b.batch}/${b.batches} loss ${b.loss.toFixed(3)} acc ${(100 * b.accuracy).toFixed(1)}% ${b.imagesPerSecond.toFixed(0)} img/s ETA ${fmtTime(b.etaSeconds)}`,
      );
    },
    epoch(r, improved) {
      if (!tty) {
        stream.write(JSON.stringify({ type: 'epoch', ...r, improved }) + '\n');
        return;
      }
      stream.write(
        `\r\x1b[2Kepoch ${r.epoch}: loss ${r.trainLoss.toFixed(3)} acc ${(100 * r.trainAccuracy).toFixed(1)}% | val loss ${r.valLoss.toFixed(3)} acc ${(100 * r.valAccuracy).toFixed(1)}%${
          r.valBySource
            ? ` (${Object.entries(r.valBySource)
                .map(([k, a]) => `${k} ${(100 * a).toFixed(1)}%`)
                .join(', ')})`
            : ''
        }${improved ? ' *' : ''} | lr ${r.learningRate.toExponential(1)} | ${r.imagesPerSecond.toFixed(0)} img/s, ${fmtTime(r.seconds)}\n`,
      );
    },
    message(text) {
      stream.write(tty ? `\r\x1b[2K${text}\n` : JSON.stringify({ type: 'message', text }) + '\n');
    },
  };
}
