/**
 * One training-throughput measurement in this process: a registered architecture through the real
 * training loop (augmentation, data-parallel workers, Adam) on synthetic 48x48 data, and one
 * profiled step to show where the time goes.
 */
import { readFileSync } from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { augmentImagesInto, DEFAULT_AUGMENT, Rng } from '@emodetect/augment';
import { createModel, EMOTIONS } from '@emodetect/model';
import type { ImageDataset } from '@emodetect/preprocess';
import { DEFAULT_TRAIN_CONFIG, startShardWorkers, trainModel } from '@emodetect/train/node';
import { createNativeEngine, nativeStatus } from '@emodetect/native';

export interface TrainBenchConfig {
  arch: string;
  batch: number;
  /**
   * A tfjs backend with this project's kernels, `wasm-stock` (tfjs-backend-wasm as shipped), or
   * `native` (the whole step in C++ on oneDNN, @emodetect/native), `native-bf16` (its convolutions
   * in bfloat16).
   */
  backend: BackendName | 'wasm-stock' | 'native' | 'native-bf16';
  /** Data-parallel workers (tfjs backends) or OpenMP threads (native). */
  workers: number;
  /** Timed steps (after one warm-up step). */
  steps: number;
}

export interface TrainBenchResult extends TrainBenchConfig {
  ok: boolean;
  /** Why it could not train, when `ok` is false. */
  error?: string;
  imagesPerSecond?: number;
  /** Images per second of busy CPU time of the whole process (all threads), over the timed steps. */
  imagesPerCpuSecond?: number;
  msPerStep?: number;
  /** Native: milliseconds per batch of the JavaScript augmentation (part of each step's time). */
  augmentMs?: number;
  /** Native, Linux: minor page faults of the whole process per timed step. */
  pageFaultsPerStep?: number;
  /** One profiled single-thread step: its wall time and every kernel's summed time, longest first. */
  topKernels?: { name: string; ms: number }[];
  profiledWallMs?: number;
}

function syntheticData(n: number): ImageDataset {
  return {
    width: 48,
    height: 48,
    count: n,
    pixels: Uint8Array.from({ length: n * 2304 }, (_, i) => (i * 7919) % 256),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 7),
    classNames: [...EMOTIONS],
    splits: new Uint8Array(n),
    splitNames: ['all'],
    origins: [],
    rowIds: new Int32Array(n),
  };
}

async function useStockWasm(): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  wasm.setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  tf.enableProdMode();
  await tf.setBackend('wasm');
}

export async function measureTraining(c: TrainBenchConfig): Promise<TrainBenchResult> {
  if (c.backend === 'native' || c.backend === 'native-bf16') return measureNative(c);
  let backendName: Exclude<BackendName, 'auto'>;
  if (c.backend === 'wasm-stock') {
    await useStockWasm();
    backendName = 'wasm';
  } else {
    backendName = (await initNodeBackend({ backend: c.backend })).backend;
  }
  const m = createModel({ arch: c.arch });
  const x = tf.randomUniform([c.batch, 48, 48, 1]);
  const y = tf.oneHot(tf.randomUniform([c.batch], 0, 7, 'int32'), 7);
  const optimizer = tf.train.adam(1e-3);
  const step = () => {
    const loss = optimizer.minimize(
      () => tf.losses.softmaxCrossEntropy(y, m.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar,
      true,
    );
    loss!.dataSync();
    loss!.dispose();
  };
  try {
    step();
  } catch (e) {
    return { ...c, ok: false, error: (e as Error).message.split('\n')[0] };
  }
  const t0 = performance.now();
  const profile = await tf.profile(step);
  const profiledWallMs = performance.now() - t0;
  const byKernel = new Map<string, number>();
  // Composite kernels (ours) call other kernels, whose time they include.
  for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
  const topKernels = [...byKernel].sort((a, b) => b[1] - a[1]).map(([name, ms]) => ({ name, ms }));

  // Throughput through the real loop.
  const n = c.batch * (c.steps + 1);
  const ds = syntheticData(n);
  const pool = c.workers > 1 ? await startShardWorkers(m, c.workers - 1, backendName) : [];
  const idx = Array.from({ length: n }, (_, i) => i);
  let start = 0;
  let timed = 0;
  let cpu0 = process.cpuUsage();
  await trainModel(
    m,
    { data: ds, train: idx, val: idx.slice(0, 8) },
    { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: c.batch, workers: c.workers },
    {
      onBatch: (b) => {
        if (b.batch === 1) {
          start = performance.now();
          cpu0 = process.cpuUsage();
        } else timed++;
      },
    },
    undefined,
    pool,
  );
  const msPerStep = (performance.now() - start) / timed;
  const cpu = process.cpuUsage(cpu0);
  await Promise.all(pool.map((w) => w.dispose()));
  // Worker threads are part of this process: their CPU time is counted too.
  const imagesPerCpuSecond = (timed * c.batch) / ((cpu.user + cpu.system) / 1e6);
  return { ...c, ok: true, imagesPerSecond: (c.batch / msPerStep) * 1000, imagesPerCpuSecond, msPerStep, topKernels, profiledWallMs };
}

/**
 * The native backend through the same loop (augmentation in JavaScript, the step in C++), and
 * where one step's time goes, per layer kind (forward and backward), on `workers` threads.
 */
async function measureNative(c: TrainBenchConfig): Promise<TrainBenchResult> {
  const status = nativeStatus();
  if (!status.available) return { ...c, ok: false, error: status.reason };
  await initNodeBackend({ backend: 'wasm' });
  const m = createModel({ arch: c.arch });
  const n = c.batch * (c.steps + 2);
  const ds = syntheticData(n);
  const idx = Array.from({ length: n }, (_, i) => i);
  const engine = createNativeEngine(m, {
    batchSize: c.batch,
    threads: c.workers,
    precision: c.backend === 'native-bf16' ? 'bf16' : 'fp32',
  });
  let start = 0;
  let cpu0 = process.cpuUsage();
  let timed = 0;
  let calls = 0;
  let profiledWallMs = 0;
  let faults0 = 0;
  try {
    await trainModel(
      m,
      { data: ds, train: idx, val: idx.slice(0, 8) },
      { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: c.batch, workers: 1 },
      {
        // Step 1 warms up, step 2 is profiled per layer, the rest are timed.
        onBatch: (b) => {
          if (b.batch === 2) {
            start = performance.now();
            cpu0 = process.cpuUsage();
            faults0 = minorFaults();
          } else if (b.batch > 2) timed++;
        },
      },
      undefined,
      [],
      {
        ...engine,
        step: async (req, lr) => {
          const profiled = ++calls === 2;
          if (profiled) engine.net.profile(true);
          const t = performance.now();
          const r = await engine.step(req, lr);
          if (profiled) {
            profiledWallMs = performance.now() - t;
            engine.net.profile(false);
          }
          return r;
        },
      },
    );
  } catch (e) {
    return { ...c, ok: false, error: (e as Error).message.split('\n')[0] };
  }
  const msPerStep = (performance.now() - start) / timed;
  const cpu = process.cpuUsage(cpu0);
  const pageFaultsPerStep = (minorFaults() - faults0) / timed;
  const byKind = new Map<string, number>();
  for (const l of engine.net.profileResult()) {
    byKind.set(`${l.kind} fwd`, (byKind.get(`${l.kind} fwd`) ?? 0) + l.forwardMs);
    byKind.set(`${l.kind} bwd`, (byKind.get(`${l.kind} bwd`) ?? 0) + l.backwardMs);
  }
  // The augmentation alone (JavaScript, on the event loop's thread), per batch.
  const pixels = new Float32Array(c.batch * 2304).map((_, i) => (i % 251) / 251);
  const out = new Float32Array(pixels.length);
  const rng = new Rng(1);
  augmentImagesInto(pixels, out, c.batch, 48, 48, DEFAULT_AUGMENT, rng);
  const ta = performance.now();
  for (let i = 0; i < 20; i++) augmentImagesInto(pixels, out, c.batch, 48, 48, DEFAULT_AUGMENT, rng);
  const augmentMs = (performance.now() - ta) / 20;
  const topKernels = [...byKind]
    .filter(([, ms]) => ms > 0)
    .sort((a, b) => b[1] - a[1])
    .map(([name, ms]) => ({ name, ms }));
  return {
    ...c,
    ok: true,
    imagesPerSecond: (c.batch / msPerStep) * 1000,
    imagesPerCpuSecond: (timed * c.batch) / ((cpu.user + cpu.system) / 1e6),
    msPerStep,
    augmentMs,
    pageFaultsPerStep,
    topKernels,
    profiledWallMs,
  };
}

/** Minor page faults of this process so far (Linux; 0 elsewhere). */
function minorFaults(): number {
  try {
    return Number(readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
  } catch {
    return 0;
  }
}
