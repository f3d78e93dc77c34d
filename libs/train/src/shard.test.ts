import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import { mixup, mixupSeed, NO_AUGMENT, Rng } from '@emodetect/augment';
import { computeShard, evenRanges, runShardWithWeights, type ShardRequest } from './shard.ts';

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
});

/** A conv net without batch-norm or dropout, so that shards are independent of each other. */
function net(): tf.LayersModel {
  const input = tf.input({ shape: [8, 8, 1] });
  let x = tf.layers
    .conv2d({ filters: 3, kernelSize: 3, activation: 'relu', kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) })
    .apply(input) as tf.SymbolicTensor;
  x = tf.layers.flatten().apply(x) as tf.SymbolicTensor;
  const out = tf.layers
    .dense({ units: 4, activation: 'softmax', kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) })
    .apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function request(n: number, offset: number): ShardRequest {
  return {
    n,
    height: 8,
    width: 8,
    classes: 4,
    pixels: Float32Array.from({ length: n * 64 }, (_, i) => Math.abs(Math.sin(i + offset * 64))),
    targets: Float32Array.from({ length: n * 4 }, (_, i) => ((Math.floor(i / 4) + offset) % 4 === i % 4 ? 1 : 0)),
    sampleWeights: Float32Array.from({ length: n }, (_, i) => 1 + ((i + offset) % 3)),
    augment: NO_AUGMENT,
    augmentSeed: 1,
    randomSeed: 2,
  };
}

describe('data-parallel shards', () => {
  it('split a batch evenly', () => {
    expect(evenRanges(10, 3)).toEqual([
      [0, 3],
      [3, 6],
      [6, 10],
    ]);
    expect(evenRanges(1, 2)).toEqual([[0, 1]]);
  });

  it('summed shard gradients equal the whole-batch gradient', () => {
    const model = net();
    const whole = computeShard(model, request(6, 0));
    const a = computeShard(model, request(2, 0));
    const b = computeShard(model, request(4, 2));
    expect(a.lossSum + b.lossSum).toBeCloseTo(whole.lossSum, 4);
    expect(a.weightSum + b.weightSum).toBe(whole.weightSum);
    expect(a.hits + b.hits).toBe(whole.hits);
    whole.grads.forEach((g, i) => g.forEach((v, j) => expect(a.grads[i][j] + b.grads[i][j]).toBeCloseTo(v, 4)));
  });
});

describe('mixup in a shard', () => {
  it('trains on the blended batch, targets and weights', () => {
    const model = net();
    const req = request(6, 1);
    const mixed = computeShard(model, { ...req, augment: { ...NO_AUGMENT, mixup: 0.5 } });
    // By hand: the same blend (the seed derived from the augmentation's), without augmentation.
    const m = mixup(
      { pixels: req.pixels, targets: req.targets, weights: req.sampleWeights },
      6,
      64,
      4,
      0.5,
      new Rng(mixupSeed(req.augmentSeed)),
    );
    const hand = computeShard(model, { ...req, pixels: m.pixels, targets: m.targets, sampleWeights: m.weights });
    expect(mixed.lossSum).toBeCloseTo(hand.lossSum, 4);
    expect(mixed.weightSum).toBeCloseTo(hand.weightSum, 4);
    hand.grads.forEach((g, i) => g.forEach((v, j) => expect(mixed.grads[i][j]).toBeCloseTo(v, 4)));
    const plain = computeShard(model, req);
    expect(Math.abs(plain.lossSum - mixed.lossSum)).toBeGreaterThan(1e-3);
  });
});

describe('a worker step', () => {
  it('loads the sent weights, computes the shard and leaks no tensors', () => {
    const model = net();
    const weights = model.weights.map((w) => Float32Array.from(w.read().dataSync(), (v) => v * 0.5));
    runShardWithWeights(model, request(3, 0), weights);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) runShardWithWeights(model, request(3, i), weights);
    expect(tf.memory().numTensors).toBe(before);
    expect(Array.from(model.weights[0].read().dataSync())).toEqual(Array.from(weights[0]));
  });
});
