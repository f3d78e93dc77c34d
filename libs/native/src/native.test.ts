import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { augmentImagesInto, DEFAULT_AUGMENT, mixup, mixupSeed, NO_AUGMENT, Rng } from '@emodetect/augment';
import { createModel, PositionEmbedding, predictProbabilities, TransformerBlock } from '@emodetect/model';
import { toyStripes as stripes } from '../../../tools/test-data.ts';
import { silentProgress as silent, wholeAndResumed } from '../../../tools/test-resume.ts';
import { DEFAULT_TRAIN_CONFIG, evaluate, resolveSplits, train, type TrainConfig } from '@emodetect/train/node';
import {
  bf16Support,
  createNativeEngine,
  NativeNet,
  nativeSpec,
  nativeStatus,
  NativeUnsupportedError,
  useNativeInference,
} from './index.ts';

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

/** Cosine of the angle between two vectors. */
function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
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
  for (const arch of ['micro', 'tiny', 'edge', 'small', 'hybrid']) {
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

  // tiny: depthwise and pointwise convolutions. The transformer layers (position embedding and
  // a block) are checked on a net small enough for tfjs' cpu backend to differentiate quickly.
  const transformerNet = () => {
    const input = tf.input({ shape: [12, 12, 1] });
    let x = tf.layers
      .conv2d({ filters: 16, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: 3 }) })
      .apply(input) as tf.SymbolicTensor;
    x = tf.layers.batchNormalization({ momentum: 0.9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.reLU().apply(x) as tf.SymbolicTensor;
    x = tf.layers.maxPooling2d({ poolSize: 2 }).apply(x) as tf.SymbolicTensor;
    x = new PositionEmbedding({ seed: 4 }).apply(x) as tf.SymbolicTensor;
    x = new TransformerBlock({ heads: 2, mlp: 24, seed: 5 }).apply(x) as tf.SymbolicTensor;
    x = new TransformerBlock({ heads: 4, mlp: 20, seed: 9 }).apply(x) as tf.SymbolicTensor;
    x = tf.layers.globalAveragePooling2d({}).apply(x) as tf.SymbolicTensor;
    const y = tf.layers.dense({ units: 7, kernelInitializer: tf.initializers.glorotUniform({ seed: 6 }) }).apply(x) as tf.SymbolicTensor;
    return tf.model({ inputs: input, outputs: tf.layers.softmax().apply(y) as tf.SymbolicTensor });
  };
  const stepNets: [string, () => tf.LayersModel, number][] = [
    ['micro', () => createModel({ arch: 'micro', seed: 11 }).model, 48],
    ['tiny', () => createModel({ arch: 'tiny', seed: 11 }).model, 48],
    ['transformer layers', transformerNet, 12],
  ];
  for (const [arch, build, side] of stepNets)
    it(`${arch}: one training step (batch-norm statistics, label smoothing, class weights, Adam) matches tfjs`, async () => {
      const m = withoutDropout(build());
      const n = 16;
      const k = 7;
      const x = rand(n * side * side, 12);
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
          const probs = m.apply(tf.tensor4d(x, [n, side, side, 1]), { training: true }) as tf.Tensor2D;
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
        m.weights
          .filter((v) => !v.trainable)
          .forEach((v, i) => expect(relErr(v.read().dataSync(), tfMoving[i]), v.originalName).toBeLessThan(1e-4));
        // Adam: tfjs applies its gradients to the model's variables, the native net its own.
        const opt = tf.train.adam(lr);
        opt.applyGradients(grads as Parameters<typeof opt.applyGradients>[0]);
        await net.step(x, y, w, n, lr, 1, true);
        const tfjsAfter = m.weights.map((v) => v.read().dataSync().slice());
        net.pullWeights();
        m.weights.forEach((v, i) => {
          if (!v.trainable) return;
          // Adam's first step moves every weight by lr·g/(|g| + eps): compare the moves, in units
          // of lr. Where |g| is within a few hundred eps (1e-7) of zero, the move depends on the
          // gradient's last bits, which two float32 summation orders round apart, so the moves
          // are compared where |g| is larger. (Some gradients are zero in exact arithmetic: the
          // attention's key bias shifts every score of a row alike, which softmax ignores.)
          const got = v.read().dataSync();
          const g = grads[(v.read() as tf.Variable).name].dataSync();
          const diffs = Array.from(got, (a, j) => Math.abs(a - tfjsAfter[i][j]) / lr);
          const settled = diffs.filter((_, j) => Math.abs(g[j]) > 3e-5).sort((a, b) => a - b);
          expect(settled.length, v.originalName).toBeGreaterThan(
            v.originalName.endsWith('qkv_bias') ? diffs.length / 2 : diffs.length * 0.9,
          );
          expect(settled[Math.floor(settled.length * 0.99)], v.originalName).toBeLessThan(1e-4);
          expect(settled[settled.length - 1], v.originalName).toBeLessThan(0.02);
        });
        expect(net.optimizerState(m.trainableWeights.map((v) => (v.read() as tf.Variable).name))[0].values[0]).toBe(1);
        opt.dispose();
      } finally {
        net.dispose();
      }
    }, 600_000); // tfjs' cpu backend computes the reference step: minutes on two AVX2 cores beside other suites
});

describe('native inference runtime', () => {
  it.each([['flip'], ['views']] as const)('averages the test-time views of the metadata (%s) as tfjs does', async (tta) => {
    const m = createModel({ arch: 'micro', seed: 21, tta });
    const n = 5;
    const faces = rand(n * 48 * 48, 22);
    const want = await predictProbabilities(m, faces, n);
    const runtime = useNativeInference(m, { batchSize: 4, threads: 2 });
    try {
      const got = await predictProbabilities(m, faces, n);
      expect(relErr(got, want)).toBeLessThan(1e-4);
    } finally {
      runtime.dispose();
    }
  });
});

describe('online distillation', () => {
  it("blends the teachers' answers on the augmented batch into the targets", async () => {
    const n = 12;
    const k = 7;
    const per = 48 * 48;
    const raw = rand(n * per, 31);
    const labels = new Float32Array(n * k);
    for (let i = 0; i < n; i++) labels[i * k + ((i * 3) % k)] = 1;
    const sampleWeights = new Float32Array(n).fill(1);
    const teacher = createModel({ arch: 'micro', seed: 32 });
    const req = { n, height: 48, width: 48, classes: k, pixels: raw, targets: labels, sampleWeights, augmentSeed: 33, randomSeed: 34 };
    // The same step twice: the teacher inside the engine, and by hand (tfjs' answers on the same
    // augmented pixels, blended 0.4·labels + 0.6·teacher, given as plain targets).
    const { online, plain } = studentPair(teacher, 35);
    try {
      const augmented = new Float32Array(n * per);
      augmentImagesInto(raw, augmented, n, 48, 48, DEFAULT_AUGMENT, new Rng(33));
      const t = await predictProbabilities(teacher, augmented, n);
      const blended = labels.map((y, i) => 0.4 * y + 0.6 * t[i]);
      const a = await online.step({ ...req, augment: DEFAULT_AUGMENT }, 1e-3);
      const b = await plain.step({ ...req, pixels: augmented, targets: blended, augment: NO_AUGMENT }, 1e-3);
      expect(Math.abs(a.lossSum - b.lossSum) / b.lossSum).toBeLessThan(1e-4);
      // Not the labels alone: the loss against them differs.
      const c = await plain.step({ ...req, pixels: augmented, augment: NO_AUGMENT }, 0);
      expect(Math.abs(c.lossSum - b.lossSum) / b.lossSum).toBeGreaterThan(1e-2);
      expect(online.description).toMatch(/1 online teacher/);
    } finally {
      online.dispose();
      plain.dispose();
    }
  });
});

describe('mixup in the native step', () => {
  it('blends the augmented faces, their targets and weights, and the online teachers answer on the blend', async () => {
    const n = 12;
    const k = 7;
    const per = 48 * 48;
    const raw = rand(n * per, 41);
    const labels = new Float32Array(n * k);
    for (let i = 0; i < n; i++) labels[i * k + ((i * 5) % k)] = 1;
    const sampleWeights = Float32Array.from({ length: n }, (_, i) => 1 + (i % 3));
    const teacher = createModel({ arch: 'micro', seed: 42 });
    const augment = { ...DEFAULT_AUGMENT, mixup: 0.4 };
    const req = { n, height: 48, width: 48, classes: k, pixels: raw, targets: labels, sampleWeights, augmentSeed: 43, randomSeed: 44 };
    const { online, plain } = studentPair(teacher, 45);
    try {
      // By hand: augment, mix (the seed derived from the augmentation's), then the teacher on the mix.
      const augmented = new Float32Array(n * per);
      augmentImagesInto(raw, augmented, n, 48, 48, augment, new Rng(43));
      const mixed = mixup({ pixels: augmented, targets: labels, weights: sampleWeights }, n, per, k, 0.4, new Rng(mixupSeed(43)));
      const t = await predictProbabilities(teacher, mixed.pixels, n);
      const blended = mixed.targets.map((y, i) => 0.4 * y + 0.6 * t[i]);
      const a = await online.step({ ...req, augment }, 1e-3);
      const b = await plain.step(
        { ...req, pixels: mixed.pixels, targets: blended, sampleWeights: mixed.weights, augment: NO_AUGMENT },
        1e-3,
      );
      expect(Math.abs(a.lossSum - b.lossSum) / b.lossSum).toBeLessThan(1e-4);
      expect(a.weightSum).toBeCloseTo(b.weightSum, 4);
      // Not the unmixed batch: the step without mixup has another loss.
      const c = await plain.step({ ...req, pixels: augmented, augment: NO_AUGMENT }, 0);
      expect(Math.abs(c.lossSum - b.lossSum) / b.lossSum).toBeGreaterThan(1e-2);
    } finally {
      online.dispose();
      plain.dispose();
    }
  });
});

/** Two native engines on the same micro student (no dropout): one taught online by `teacher` at weight 0.6, one plain. */
function studentPair(teacher: ReturnType<typeof createModel>, seed: number) {
  const student = () => withModel(createModel({ arch: 'micro', seed }));
  return {
    online: createNativeEngine(student(), { batchSize: 16, threads: 2, teachers: { models: [teacher], weight: 0.6 } }),
    plain: createNativeEngine(student(), { batchSize: 16, threads: 2 }),
  };
}

/** A model without dropout (deterministic steps). */
function withModel<T extends { model: tf.LayersModel }>(m: T): T {
  withoutDropout(m.model);
  return m;
}

describe('bf16 convolutions', () => {
  it('give the fp32 step loss and gradients to bfloat16 precision, or a clear refusal on a CPU without AVX512-BF16', async () => {
    const m = withoutDropout(createModel({ arch: 'small', seed: 21 }).model);
    const support = bf16Support();
    if (!support.ok) {
      // No bf16 kernels on this CPU: asking for them is one clear error before any step, not a failure mid-run.
      expect(support.reason).toMatch(/no AVX512-BF16 instructions \(its widest vector set is \w+\); use fp32/);
      expect(() => NativeNet.fromModel(m, { batchSize: 8, threads: 1, precision: 'bf16' })).toThrow(NativeUnsupportedError);
      return;
    }
    const n = 32;
    const k = 7;
    const x = rand(n * 48 * 48, 22);
    const y = new Float32Array(n * k);
    for (let i = 0; i < n; i++) y[i * k + (i % k)] = 1;
    const w = new Float32Array(n).fill(1);
    const nets = (['fp32', 'bf16'] as const).map((precision) => NativeNet.fromModel(m, { batchSize: n, threads: 2, precision }));
    try {
      const [a, b] = await Promise.all(nets.map((net) => net.step(x, y, w, n, 1e-3, 1, false)));
      // bfloat16 keeps 8 significant bits (relative rounding 2^-9 ≈ 0.2%).
      expect(Math.abs(a.lossSum - b.lossSum) / a.lossSum).toBeLessThan(5e-3);
      const [ga, gb] = nets.map((net) => net.gradients());
      // Per element, bf16 gradients of an untrained net differ by up to ~20% of the largest (sums
      // of many products that cancel); as directions they agree: cosine ≥ 0.98 on every variable
      // (0.985-0.99 on the first blocks, 0.996+ higher up, measured). Accuracy: see BENCHMARKS.md.
      ga.forEach((g, i) => expect(cosine(gb[i].values, g.values), g.name).toBeGreaterThan(0.98));
      // The convolutions really ran in bf16: the gradients are not bit-identical.
      expect(ga.some((g, i) => g.values.some((v, j) => v !== gb[i].values[j]))).toBe(true);
    } finally {
      nets.forEach((net) => net.dispose());
    }
  });
});

describe('the training loop on the native engine', () => {
  const config = (over: Partial<TrainConfig> = {}): TrainConfig => ({
    ...DEFAULT_TRAIN_CONFIG,
    epochs: 2,
    batchSize: 16,
    learningRate: 3e-3,
    patience: 0,
    augment: DEFAULT_AUGMENT,
    seed: 7,
    ...over,
  });
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'emodetect-native-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('learns a separable toy problem, validating through the native runtime', async () => {
    const ds = stripes(240);
    const splits = resolveSplits(ds, 1);
    const m = createModel({ arch: 'micro', labels: ds.classNames, seed: 1 });
    const c = config({ epochs: 3 });
    const result = await train({
      model: m,
      data: { data: ds, train: splits.train, val: splits.val },
      config: c,
      runDir: path.join(dir, 'toy'),
      progress: silent,
      engine: createNativeEngine(m, { batchSize: c.batchSize, threads: 2 }),
    });
    expect(result.state.epoch).toBe(3);
    expect(m.runtime).toBeUndefined();
    // The weights came back into tfjs: tfjs alone now classifies the validation set.
    const report = await evaluate(m, ds, splits.val);
    expect(report.accuracy).toBeGreaterThan(0.9);
    expect(report.accuracy).toBeCloseTo(result.state.history[2].valAccuracy, 5);
  });

  it('resumes bit-identically from a checkpoint (weights, batch-norm statistics, Adam)', async () => {
    const ds = stripes(96, 3);
    const { whole, resumed } = await wholeAndResumed({
      ds,
      fresh: () => createModel({ arch: 'micro', labels: ds.classNames, seed: 5 }),
      config: config(),
      dir: path.join(dir, 'resume'),
      engine: (m, ckpt) => createNativeEngine(m, { batchSize: 16, threads: 2, ...(ckpt && { optimizerWeights: ckpt.optimizerWeights }) }),
    });
    const a = whole.model.getWeights().map((t) => t.dataSync());
    const b = resumed.model.getWeights().map((t) => t.dataSync());
    a.forEach((w, i) => expect(Array.from(b[i]), `weight ${i}`).toEqual(Array.from(w)));
  });
});
