import { mkdtemp, readFile, rm, stat, writeFile, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import {
  ARCHITECTURE_NAMES,
  EMOTIONS,
  ModelLoadError,
  argmaxRows,
  createModel,
  exportModel,
  getArchitecture,
  toFloat16Bits,
  loadModelFolder,
  predictProbabilities,
  saveModelFolder,
} from './node.ts';
import { foldedRuntime } from './folded.ts';
import { renderView, ttaViews } from './tta.ts';

let dir: string;
beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  dir = await mkdtemp(path.join(tmpdir(), 'emodetect-model-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('architecture registry', () => {
  it.each(ARCHITECTURE_NAMES.map((n) => [n]))('%s builds a 48x48x1 → 7-way softmax model', (name) => {
    const m = createModel({ arch: name });
    expect(m.model.inputs[0].shape).toEqual([null, 48, 48, 1]);
    expect(m.model.outputs[0].shape).toEqual([null, 7]);
    expect(m.metadata.parameters).toBe(m.model.countParams());
    expect(m.metadata.labels).toEqual([...EMOTIONS]);
    const p = m.model.predict(tf.zeros([2, 48, 48, 1])) as tf.Tensor;
    const sums = tf.sum(p, 1).dataSync();
    sums.forEach((s) => expect(s).toBeCloseTo(1, 4));
  });

  it('sizes grow from micro to large, and unknown names list the choices', () => {
    const params = ARCHITECTURE_NAMES.map((n) => createModel({ arch: n }).metadata.parameters);
    expect([...params].sort((a, b) => a - b)).toEqual(params);
    expect(params[params.length - 1]).toBeLessThan(10_000_000);
    expect(() => getArchitecture('resnet9000')).toThrow(/unknown architecture "resnet9000" \(choose one of: micro, tiny, edge, small/);
  });

  it('a seed makes the initial weights reproducible', () => {
    const a = createModel({ arch: 'micro', seed: 3 }).model.getWeights()[0].dataSync();
    const b = createModel({ arch: 'micro', seed: 3 }).model.getWeights()[0].dataSync();
    expect(Array.from(a)).toEqual(Array.from(b));
  });
});

describe('test-time views', () => {
  it('flip averages the face and its mirror; views averages 14 shifted, zoomed and mirrored views', async () => {
    expect(ttaViews('none')).toHaveLength(1);
    expect(ttaViews('flip').map((v) => v.flip)).toEqual([false, true]);
    expect(ttaViews('views')).toHaveLength(14);
    // A 2-pixel shift moves a bright pixel by 2; a mirror moves it across.
    const src = new Float32Array(6 * 6);
    src[2 * 6 + 1] = 1;
    const dst = new Float32Array(src.length);
    renderView(src, dst, 1, 6, 6, 1, { dx: 2, dy: 0, zoom: 1, flip: false });
    expect(dst[2 * 6 + 3]).toBe(1);
    renderView(src, dst, 1, 6, 6, 1, { dx: 0, dy: 0, zoom: 1, flip: true });
    expect(dst[2 * 6 + 4]).toBe(1);
    // The tfjs path averages exactly those views.
    const m = createModel({ arch: 'micro', seed: 8, tta: 'views' });
    const faces = Float32Array.from({ length: 2 * 48 * 48 }, (_, i) => ((i * 31) % 97) / 97);
    const got = await predictProbabilities(m, faces, 2);
    const want = new Float32Array(14);
    const view = new Float32Array(faces.length);
    for (const v of ttaViews('views')) {
      renderView(faces, view, 2, 48, 48, 1, v);
      const p = (m.model.predict(tf.tensor4d(view, [2, 48, 48, 1])) as tf.Tensor).dataSync();
      p.forEach((x, i) => (want[i] += x / 14));
    }
    for (let i = 0; i < 14; i++) expect(got[i]).toBeCloseTo(want[i], 6);
  });
});

describe('transformer layers', () => {
  it('the hybrid saves and loads through a model folder (custom layers registered), with the same predictions', async () => {
    const m = createModel({ arch: 'hybrid', seed: 2 });
    const names = m.model.layers.map((l) => l.getClassName());
    expect(names.filter((n) => n === 'EmoTransformerBlock')).toHaveLength(2);
    expect(names).toContain('EmoPositionEmbedding');
    const folder = path.join(dir, 'hybrid');
    await saveModelFolder(m, folder);
    const back = await loadModelFolder(folder);
    const x = tf.randomUniform([3, 48, 48, 1], 0, 1, 'float32', 5);
    const a = (m.model.predict(x) as tf.Tensor).dataSync();
    const b = (back.model.predict(x) as tf.Tensor).dataSync();
    expect(Array.from(b)).toEqual(Array.from(a));
    // Folding knows conv layers only: the hybrid keeps model.predict.
    expect(foldedRuntime(back)).toBeNull();
  });
});

describe('folded inference', () => {
  it.each([
    ['tiny', 'flip'],
    ['small', 'flip'],
    ['small', 'views'],
  ] as const)('%s: batch-norm folded into the convolutions gives the predictions of the model, %s TTA included', async (arch, tta) => {
    const m = createModel({ arch, seed: 4, tta });
    // Batch-norm statistics and scales away from their initial values, as after training.
    let s = 9;
    const rnd = () => (s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296;
    for (const w of m.model.weights) {
      if (w.originalName.endsWith('moving_mean') || w.originalName.endsWith('beta'))
        w.write(tf.tensor(Float32Array.from({ length: w.shape[0] as number }, () => rnd() * 0.4 - 0.2)));
      if (w.originalName.endsWith('moving_variance') || w.originalName.endsWith('gamma'))
        w.write(tf.tensor(Float32Array.from({ length: w.shape[0] as number }, () => 0.5 + rnd() * 1.5)));
    }
    const n = 5;
    const faces = Float32Array.from({ length: n * 48 * 48 }, () => rnd());
    const want = await predictProbabilities(m, faces, n);
    const folded = foldedRuntime(m)!;
    expect(folded).not.toBeNull();
    const before = tf.memory().numTensors;
    const got = await folded.predict(faces, n, { batchSize: 2 });
    expect(tf.memory().numTensors).toBe(before);
    for (let i = 0; i < want.length; i++) expect(Math.abs(got[i] - want[i])).toBeLessThan(2e-5);
    // Disposing the runtime leaves the model whole.
    folded.dispose();
    expect(Array.from(await predictProbabilities(m, faces, n))).toEqual(Array.from(want));
  });

  it('declines a model it cannot fold', () => {
    const input = tf.input({ shape: [8, 8, 1] });
    const y = tf.layers.dense({ units: 2, activation: 'tanh' }).apply(tf.layers.flatten().apply(input)) as tf.SymbolicTensor;
    const m = createModel({ arch: 'micro' });
    expect(foldedRuntime({ ...m, model: tf.model({ inputs: input, outputs: y }) })).toBeNull();
  });
});

describe('model folders', () => {
  it('round-trip weights, metadata and predictions; flip TTA averages both views', async () => {
    const m = createModel({ arch: 'micro', seed: 1, tta: 'flip' });
    const target = path.join(dir, 'm1');
    await saveModelFolder(m, target);
    expect((await readdir(target)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    const back = await loadModelFolder(target);
    expect(back.metadata).toEqual(m.metadata);
    const faces = Float32Array.from({ length: 3 * 2304 }, (_, i) => ((i * 7919) % 255) / 255);
    const p1 = await predictProbabilities(m, faces, 3, { batchSize: 2 });
    const p2 = await predictProbabilities(back, faces, 3);
    p1.forEach((v, i) => expect(p2[i]).toBeCloseTo(v, 5));
    expect(argmaxRows(p1, 7)).toHaveLength(3);
  });

  it("a prior correction in the metadata reweights every runtime's probabilities, and survives a save", async () => {
    const m = createModel({ arch: 'micro', seed: 3 });
    const faces = Float32Array.from({ length: 4 * 2304 }, (_, i) => ((i * 7919) % 255) / 255);
    const plain = await predictProbabilities(m, faces, 4);
    const weights = [2, 0.5, 1, 1, 3, 1, 0.25];
    m.metadata.priorCorrection = { weights, fittedOn: ['test'] };
    const target = path.join(dir, 'prior');
    await saveModelFolder(m, target);
    const back = await loadModelFolder(target);
    expect(back.metadata.priorCorrection).toEqual({ weights, fittedOn: ['test'] });
    for (const model of [m, back]) {
      const p = await predictProbabilities(model, faces, 4);
      for (let r = 0; r < 4; r++) {
        const row = Array.from(plain.subarray(r * 7, r * 7 + 7), (v, j) => v * weights[j]);
        const sum = row.reduce((a, b) => a + b, 0);
        row.forEach((v, j) => expect(p[r * 7 + j]).toBeCloseTo(v / sum, 5));
      }
    }
    // The folded runtime (the live path) applies it too.
    back.runtime = foldedRuntime(back) ?? undefined;
    expect(back.runtime).toBeDefined();
    const folded = await predictProbabilities(back, faces, 4);
    const direct = await predictProbabilities(m, faces, 4);
    folded.forEach((v, i) => expect(v).toBeCloseTo(direct[i], 4));
    await writeFile(path.join(target, 'metadata.json'), JSON.stringify({ ...back.metadata, priorCorrection: { weights: [1, 2] } }));
    await expect(loadModelFolder(target)).rejects.toThrow(/priorCorrection.weights" needs one positive number per label/);
  });

  it('saving over an existing folder replaces it atomically', async () => {
    const target = path.join(dir, 'm2');
    await saveModelFolder(createModel({ arch: 'micro', seed: 1 }), target, { 'old.txt': 'x' });
    await saveModelFolder(createModel({ arch: 'micro', seed: 2 }), target);
    expect((await readdir(target)).sort()).toEqual(['metadata.json', 'model.json', 'weights.bin']);
    expect((await readdir(dir)).filter((f) => f.includes('.tmp-') || f.includes('.old-'))).toEqual([]);
  });

  it('bad folders give one-line errors naming the file', async () => {
    await expect(loadModelFolder(path.join(dir, 'none'))).rejects.toThrow(/none: model folder not found/);
    const target = path.join(dir, 'm3');
    await saveModelFolder(createModel({ arch: 'micro' }), target);
    const weights = await readFile(path.join(target, 'weights.bin'));
    await writeFile(path.join(target, 'weights.bin'), weights.subarray(0, 100));
    await expect(loadModelFolder(target)).rejects.toThrow(/weights are 100 bytes but model.json describes \d+/);
    await writeFile(path.join(target, 'metadata.json'), '{"format":"emodetect-model/1"');
    await expect(loadModelFolder(target)).rejects.toThrow(/metadata.json: not valid JSON/);
    await writeFile(path.join(target, 'metadata.json'), '{"format":"other"}');
    const err = await loadModelFolder(target).catch((e) => e);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(err.message).toMatch(/metadata.json: unknown format "other"/);
  });
});

describe('quantised export', () => {
  it('encodes IEEE half precision', () => {
    expect(toFloat16Bits(1)).toBe(0x3c00);
    expect(toFloat16Bits(-2)).toBe(0xc000);
    expect(toFloat16Bits(65504)).toBe(0x7bff);
    expect(toFloat16Bits(1e6)).toBe(0x7c00);
    expect(toFloat16Bits(0.1)).toBe(0x2e66);
    expect(toFloat16Bits(1e-9)).toBe(0);
    expect(toFloat16Bits(6e-5)).toBe(0x03ef); // subnormal: 6e-5 / 2^-24 = 1006.6
  });

  it.each([
    ['float16', 2, 1e-3],
    ['uint8', 4, 0.05],
  ] as const)('%s weights are %ix smaller and predict nearly the same', async (q, factor, tolerance) => {
    const m = createModel({ arch: 'small', seed: 4 });
    await saveModelFolder(m, path.join(dir, 'f32'));
    await exportModel(m, path.join(dir, q), q);
    const full = (await stat(path.join(dir, 'f32', 'weights.bin'))).size;
    const small = (await stat(path.join(dir, q, 'weights.bin'))).size;
    expect(small * factor).toBeCloseTo(full, -3);
    const back = await loadModelFolder(path.join(dir, q));
    expect(back.metadata.quantization).toBe(q);
    const faces = Float32Array.from({ length: 4 * 2304 }, (_, i) => ((i * 7919) % 255) / 255);
    const a = await predictProbabilities(m, faces, 4);
    const b = await predictProbabilities(back, faces, 4);
    a.forEach((v, i) => expect(Math.abs(v - b[i])).toBeLessThan(tolerance));
  });
});
