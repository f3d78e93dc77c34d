/**
 * Training throughput of a registered architecture, through the real training loop (augmentation,
 * data-parallel workers, Adam) on synthetic 48x48 data.
 *
 *   npx tsx tools/bench-train.ts [arch=small] [batch=64] [workers=1] [backend=wasm]
 *
 * Runs 6 batches and times the last 4. With backend "wasm-stock" it tries stock
 * tfjs-backend-wasm without this project's kernels and reports why it cannot train.
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { createModel } from '@emodetect/model';
import type { ImageDataset } from '@emodetect/preprocess';
import { DEFAULT_TRAIN_CONFIG, startShardWorkers, trainModel } from '@emodetect/train/node';

const [arch = 'small', batchArg = '64', workersArg = '1', backendArg = 'wasm'] = process.argv.slice(2);
const batch = Number(batchArg);
const workers = Number(workersArg);

if (backendArg === 'wasm-stock') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  wasm.setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  await tf.setBackend('wasm');
  const m = createModel({ arch });
  const x = tf.randomUniform([batch, 48, 48, 1]);
  const y = tf.oneHot(tf.randomUniform([batch], 0, 7, 'int32'), 7);
  try {
    tf.train.adam().minimize(() => tf.losses.softmaxCrossEntropy(y, m.model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar);
    console.log(`${arch} batch ${batch} on stock wasm: trains`);
  } catch (e) {
    console.log(`${arch} batch ${batch} on stock wasm: cannot train (${(e as Error).message.split('\n')[0]})`);
  }
  process.exit(0);
}

const info = await initNodeBackend({ backend: backendArg as BackendName });
const n = batch * 6;
const ds: ImageDataset = {
  width: 48,
  height: 48,
  count: n,
  pixels: Uint8Array.from({ length: n * 2304 }, (_, i) => (i * 7919) % 256),
  labels: Uint8Array.from({ length: n }, (_, i) => i % 7),
  classNames: ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'],
  splits: new Uint8Array(n),
  splitNames: ['all'],
  origins: [],
  rowIds: new Int32Array(n),
};
const m = createModel({ arch });
const pool = workers > 1 ? await startShardWorkers(m, workers - 1, info.name) : [];
const idx = Array.from({ length: n }, (_, i) => i);
let t0 = 0;
let timed = 0;
await trainModel(
  m,
  { data: ds, train: idx, val: idx.slice(0, 8) },
  { ...DEFAULT_TRAIN_CONFIG, epochs: 1, batchSize: batch, workers },
  {
    onBatch: (b) => {
      if (b.batch === 2) t0 = performance.now();
      else if (b.batch > 2) timed++;
    },
  },
  undefined,
  pool,
);
const ms = (performance.now() - t0) / timed;
console.log(
  `${arch} (${m.metadata.parameters} params), batch ${batch}, ${workers} worker(s), ${info.name}: ${ms.toFixed(0)} ms/step, ${((batch / ms) * 1000).toFixed(1)} img/s`,
);
await Promise.all(pool.map((w) => w.dispose()));
