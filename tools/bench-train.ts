/**
 * Training-step throughput of a registered architecture on a tfjs backend.
 *
 *   npx tsx tools/bench-train.ts [arch=small] [batch=64] [backend=wasm] [steps=3]
 *
 * Prints img/s and ms per Adam step (after 2 warm-up steps) and the top kernels by time from
 * tf.profile. With backend "wasm-stock" it tries stock tfjs-backend-wasm without this project's
 * kernels, and reports why it cannot train.
 */
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { createModel } from '@emodetect/model';

const [arch = 'small', batchArg = '64', backendArg = 'wasm', stepsArg = '3'] = process.argv.slice(2);
const batch = Number(batchArg);
const steps = Number(stepsArg);

if (backendArg === 'wasm-stock') {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  const { createRequire } = await import('node:module');
  const path = await import('node:path');
  wasm.setWasmPaths(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')) + '/dist/');
  await tf.setBackend('wasm');
} else {
  await initNodeBackend({ backend: backendArg as BackendName });
}

const m = createModel({ arch });
const optimizer = tf.train.adam(1e-3);
const x = tf.randomUniform([batch, 48, 48, 1]);
const y = tf.oneHot(tf.randomUniform([batch], 0, 7, 'int32'), 7);
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
  step();
} catch (e) {
  console.log(`${arch} batch ${batch} on ${backendArg}: cannot train (${(e as Error).message.split('\n')[0]})`);
  process.exit(0);
}
const t0 = performance.now();
for (let i = 0; i < steps; i++) step();
const ms = (performance.now() - t0) / steps;
console.log(
  `${arch} (${m.metadata.parameters} params) batch ${batch} on ${tf.getBackend()}: ${ms.toFixed(0)} ms/step, ${((batch / ms) * 1000).toFixed(1)} img/s`,
);
const profile = await tf.profile(step);
const byKernel = new Map<string, number>();
for (const k of profile.kernels) byKernel.set(k.name, (byKernel.get(k.name) ?? 0) + Number(k.kernelTimeMs));
console.log('top kernels (ms in one step; composite kernels include the kernels they call):');
for (const [name, t] of [...byKernel].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log(`  ${name.padEnd(24)} ${t.toFixed(1)}`);
