import { mkdtemp, rm, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import { NO_AUGMENT, DEFAULT_AUGMENT } from '@emodetect/augment';
import { createModel } from '@emodetect/model';
import { toyStripes as stripes } from '../../../tools/test-data.ts';
import { silentProgress as silent, wholeAndResumed } from '../../../tools/test-resume.ts';
import {
  DEFAULT_TRAIN_CONFIG,
  evaluate,
  learningRateAt,
  resolveSplits,
  runPaths,
  train,
  stratifiedSample,
  stratifiedSplit,
  type TrainConfig,
} from './node.ts';

let dir: string;
beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'emodetect-train-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const cfg = (over: Partial<TrainConfig> = {}): TrainConfig => ({
  ...DEFAULT_TRAIN_CONFIG,
  epochs: 2,
  batchSize: 16,
  learningRate: 3e-3,
  patience: 0,
  augment: NO_AUGMENT,
  seed: 7,
  ...over,
});

describe('splits', () => {
  it('stratified 80/20 keeps class proportions and is seeded', () => {
    const labels = Array.from({ length: 100 }, (_, i) => (i < 70 ? 0 : 1));
    const all = labels.map((_, i) => i);
    const [a, b] = stratifiedSplit(labels, all, 0.2, 1);
    expect(b.filter((i) => labels[i] === 0)).toHaveLength(14);
    expect(b.filter((i) => labels[i] === 1)).toHaveLength(6);
    expect(a.length + b.length).toBe(100);
    expect(stratifiedSplit(labels, all, 0.2, 1)).toEqual([a, b]);
    expect(stratifiedSplit(labels, all, 0.2, 2)[1]).not.toEqual(b);
    expect(stratifiedSample(labels, all, 10, 1)).toHaveLength(10);
  });

  it('uses FER2013 Training/PublicTest, else 80/20 of the training split', () => {
    const toy = stripes(30);
    expect(resolveSplits(toy, 1).val).toHaveLength(6);
    const fer = { ...toy, splitNames: ['Training', 'PublicTest', 'PrivateTest'], splits: Uint8Array.from({ length: 30 }, (_, i) => i % 3) };
    const s = resolveSplits(fer, 1);
    expect(s.train).toHaveLength(10);
    expect(s.val.every((i) => i % 3 === 1)).toBe(true);
  });

  it('cosine schedule warms up, peaks and decays', () => {
    const c = cfg({ epochs: 10, warmupEpochs: 1, learningRate: 1 });
    expect(learningRateAt(c, 0.5)).toBeCloseTo(0.5);
    expect(learningRateAt(c, 1)).toBeCloseTo(1);
    expect(learningRateAt(c, 10)).toBeCloseTo(0.01);
    expect(learningRateAt({ ...c, schedule: 'constant' }, 7)).toBe(1);
  });
});

describe('training', () => {
  it('learns a separable toy problem and writes the run folder', async () => {
    const ds = stripes(240);
    const splits = resolveSplits(ds, 1);
    const m = createModel({ arch: 'micro', labels: ds.classNames, seed: 1 });
    const runDir = path.join(dir, 'toy');
    const result = await train({
      model: m,
      data: { data: ds, train: splits.train, val: splits.val },
      config: cfg({ epochs: 3, augment: DEFAULT_AUGMENT }),
      runDir,
      progress: silent,
    });
    expect(result.state.epoch).toBe(3);
    const report = await evaluate(m, ds, splits.val);
    expect(report.accuracy).toBeGreaterThan(0.9);
    const log = (await readFile(runPaths(runDir).log, 'utf8')).trim().split('\n');
    expect(log).toHaveLength(3);
    expect(await readFile(runPaths(runDir).curves, 'utf8')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });

  it.each([
    ['micro', 1],
    ['micro', 2],
    ['small', 2],
  ])('resuming from a checkpoint gives bit for bit the weights of an uninterrupted run (%s, %i workers)', async (arch, workers) => {
    const ds = stripes(96, 3);
    let tensorsBefore: number | undefined;
    const { whole, resumed } = await wholeAndResumed({
      ds,
      fresh: () => {
        const m = createModel({ arch, labels: ds.classNames, seed: 5 });
        tensorsBefore ??= tf.memory().numTensors;
        return m;
      },
      config: cfg({ epochs: 2, augment: DEFAULT_AUGMENT, workers }),
      dir: path.join(dir, `resume-${arch}-${workers}`),
      backend: 'wasm',
      // Training frees everything it allocates (optimizer state included).
      afterWhole: () => expect(tf.memory().numTensors).toBe(tensorsBefore),
    });

    // Exactly equal: weights, batch-norm statistics and Adam's state all came back as they were
    // (tfjs' own Adam.setWeights would round its bias correction differently: see restoreAdam).
    const a = whole.model.getWeights().map((t) => Array.from(t.dataSync()));
    const b = resumed.model.getWeights().map((t) => Array.from(t.dataSync()));
    expect(b).toEqual(a);
  });
});
