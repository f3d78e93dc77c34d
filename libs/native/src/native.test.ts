import { describe, expect, it, beforeAll } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { createModel } from '@emodetect/model';
import { NativeNet, nativeSpec, nativeStatus, NativeUnsupportedError } from './index.ts';

// The native library must be built in CI (.ci/run installs libdnnl-dev and builds it): fail, never skip.
beforeAll(async () => {
  await tf.setBackend('cpu');
  const s = nativeStatus();
  if (!s.available) throw new Error(`the native library is not available: ${s.reason}`);
});

function rand(n: number, seed: number, lo = 0, hi = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = lo + ((hi - lo) * s) / 4294967296;
  }
  return out;
}

function withoutDropout(m: tf.LayersModel): tf.LayersModel {
  for (const l of m.layers) if (l.getClassName() === 'Dropout') (l as unknown as { rate: number }).rate = 0;
  return m;
}

/** Largest |a - b| relative to the largest |b|. */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    s = Math.max(s, Math.abs(b[i]));
  }
  return d / Math.max(s, 1e-12);
}

describe('nativeSpec', () => {
  it('reads the registry nets from their tfjs layers', () => {
    const { spec } = nativeSpec(createModel({ arch: 'small', seed: 1 }).model);
    expect(spec.split('\n')).toEqual([
      ...[32, 64, 128, 256].flatMap((f) => [`conv ${f} 3 1 same 0`, 'bn 0.9 0.001', 'relu', 'maxpool 2 2']),
      'gap',
      'dropout 0.3',
      'dense 7',
      'softmax',
    ]);
  });

  it('names the layer it cannot run', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const x = tf.layers.conv2d({ filters: 2, kernelSize: 3, activation: 'tanh', name: 'odd' }).apply(input) as tf.SymbolicTensor;
    const y = tf.layers.dense({ units: 2, activation: 'softmax' }).apply(tf.layers.flatten().apply(x)) as tf.SymbolicTensor;
    expect(() => nativeSpec(tf.model({ inputs: input, outputs: y }))).toThrow(NativeUnsupportedError);
    expect(() => nativeSpec(tf.model({ inputs: input, outputs: y }))).toThrow(/"odd".*tanh/);
  });
});

describe('NativeNet against tfjs (cpu backend)', () => {
  for (const arch of ['micro', 'small']) {
    it(`${arch}: inference matches tfjs`, async () => {
      const m = createModel({ arch, seed: 3 }).model;
      // Non-trivial batch-norm statistics, as after training.
      for (const w of m.weights) {
        if (w.originalName.endsWith('moving_mean')) w.write(tf.tensor(rand(w.shape[0] as number, 5, -0.2, 0.2)));
        if (w.originalName.endsWith('moving_variance')) w.write(tf.tensor(rand(w.shape[0] as number, 6, 0.5, 2)));
      }
      const n = 9;
      const x = rand(n * 48 * 48, 7);
      const net = NativeNet.fromModel(m, { batchSize: 16, threads: 2 });
      try {
        const got = await net.forward(x, n);
        const want = tf.tidy(() => (m.predict(tf.tensor4d(x, [n, 48, 48, 1])) as tf.Tensor).dataSync());
        expect(relErr(got, want)).toBeLessThan(1e-4);
      } finally {
        net.dispose();
      }
    });
  }

  it('micro: one training step (batch-norm statistics, label smoothing, class weights, Adam) matches tfjs', async () => {
    const m = withoutDropout(createModel({ arch: 'micro', seed: 11 }).model);
    const n = 16;
    const k = 7;
    const x = rand(n * 48 * 48, 12);
    // Smoothed one-hot targets and unequal sample weights.
    const y = new Float32Array(n * k).fill(0.1 / k);
    for (let i = 0; i < n; i++) y[i * k + (i % k)] += 0.9;
    const w = Float32Array.from({ length: n }, (_, i) => 0.5 + (i % 3) * 0.75);
    const weightSum = w.reduce((a, b) => a + b, 0);
    const lr = 0.01;

    const net = NativeNet.fromModel(m, { batchSize: 32, threads: 2 });
    try {
      const r = await net.step(x, y, w, n, lr, 1, false);
      const nativeGrads = net.gradients();
      // tfjs: the same loss as @emodetect/train's computeShard, divided by Σw as its step does.
      const vars = m.trainableWeights.map((v) => v.read() as tf.Variable);
      const { value, grads } = tf.variableGrads(() => {
        const probs = m.apply(tf.tensor4d(x, [n, 48, 48, 1]), { training: true }) as tf.Tensor2D;
        const ce = tf.neg(tf.sum(tf.mul(tf.tensor2d(y, [n, k]), tf.log(tf.clipByValue(probs, 1e-7, 1))), 1));
        return tf.div(tf.sum(tf.mul(ce, tf.tensor1d(w))), weightSum) as tf.Scalar;
      }, vars);
      expect(Math.abs(r.lossSum / r.weightSum - value.dataSync()[0])).toBeLessThan(1e-4);
      expect(r.weightSum).toBeCloseTo(weightSum, 4);
      const byName = new Map(nativeGrads.map((g) => [g.name, g.values]));
      for (const v of m.trainableWeights) {
        const g = grads[(v.read() as tf.Variable).name].dataSync();
        expect(relErr(byName.get(v.originalName)!, g), v.originalName).toBeLessThan(2e-3);
      }
      // The batch statistics were folded into the moving averages in both (tfjs did it in apply()).
      const tfMoving = m.weights.filter((v) => !v.trainable).map((v) => v.read().dataSync().slice());
      // The step did not apply Adam, so pulling changes only the moving statistics.
      net.pullWeights();
      m.weights.filter((v) => !v.trainable).forEach((v, i) => expect(relErr(v.read().dataSync(), tfMoving[i]), v.originalName).toBeLessThan(1e-4));
      // Adam: tfjs applies its gradients to the model's variables, the native net its own.
      const opt = tf.train.adam(lr);
      opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
      await net.step(x, y, w, n, lr, 1, true);
      const tfjsAfter = m.weights.map((v) => v.read().dataSync().slice());
      net.pullWeights();
      m.weights.forEach((v, i) => {
        if (!v.trainable) return;
        // Adam's first step moves every weight by about lr·sign(g): compare the moves, in units
        // of lr. Where |g| is near Adam's epsilon (1e-7) the two float32 gradients may round apart.
        const got = v.read().dataSync();
        const diffs = Array.from(got, (a, j) => Math.abs(a - tfjsAfter[i][j]) / lr).sort((a, b) => a - b);
        expect(diffs[Math.floor(diffs.length * 0.99)], v.originalName).toBeLessThan(1e-4);
        expect(diffs[diffs.length - 1], v.originalName).toBeLessThan(0.02);
      });
      expect(net.optimizerState(m.trainableWeights.map((v) => (v.read() as tf.Variable).name))[0].values[0]).toBe(1);
      opt.dispose();
    } finally {
      net.dispose();
    }
  });
});
