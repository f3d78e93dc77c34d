import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from './node.ts';

/**
 * One full Adam training step of a conv + batch-norm + max-pool + dense net gives the same weights
 * on wasm (with this library's kernels and gradients) as on tfjs' reference cpu backend.
 */
function step(): number[][] {
  const input = tf.input({ shape: [12, 12, 1] });
  let x = tf.layers.conv2d({ filters: 4, kernelSize: 3, padding: 'same', useBias: false }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
  x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ filters: 6, kernelSize: 3, strides: 2, padding: 'same' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ units: 3, activation: 'softmax' }).apply(x) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  model.setWeights(model.weights.map((w, k) => tf.tensor(fixedValues(w.name, w.shape as number[], k), w.shape as number[])));
  const opt = tf.train.adam(0.01);
  const xs = tf.tensor4d(
    Array.from({ length: 5 * 144 }, (_, i) => Math.cos(i * 0.37)),
    [5, 12, 12, 1],
  );
  const ys = tf.oneHot(tf.tensor1d([0, 1, 2, 1, 0], 'int32'), 3);
  for (let i = 0; i < 2; i++) {
    opt.minimize(() => tf.losses.softmaxCrossEntropy(ys, model.apply(xs, { training: true }) as tf.Tensor) as tf.Scalar);
  }
  return model.getWeights().map((w) => Array.from(w.dataSync()));
}

describe('a full training step', () => {
  it('updates the weights on wasm as on cpu', async () => {
    await initNodeBackend({ backend: 'cpu' });
    const cpu = step();
    await initNodeBackend({ backend: 'wasm' });
    const wasm = step();
    expect(wasm.length).toBe(cpu.length);
    wasm.forEach((w, i) => w.forEach((v, j) => expect(Math.abs(v - cpu[i][j])).toBeLessThan(1e-4)));
  });
});

/** Deterministic initial values for a weight (positive variances, gammas near 1). */
function fixedValues(name: string, shape: number[], k: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  return Array.from({ length: n }, (_, i) =>
    name.includes('moving_variance') ? 1 : name.includes('gamma') ? 1 + 0.1 * Math.sin(i) : 0.3 * Math.sin(7 * i + k),
  );
}
