import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from './node.ts';

type Case = { x: [number, number, number, number]; f: [number, number, number, number]; stride: number; pad: 'same' | 'valid' };

// Strides 1 and 2, same/valid, odd sizes, batch 1, channels 1 and 3, 1x1 to 5x5 filters.
const CASES: Case[] = [
  { x: [2, 7, 9, 3], f: [3, 3, 3, 4], stride: 1, pad: 'same' },
  { x: [1, 8, 8, 1], f: [3, 3, 1, 5], stride: 2, pad: 'same' },
  { x: [3, 9, 7, 2], f: [3, 3, 2, 3], stride: 2, pad: 'valid' },
  { x: [2, 6, 6, 3], f: [5, 5, 3, 2], stride: 1, pad: 'valid' },
  { x: [1, 5, 5, 3], f: [3, 3, 3, 2], stride: 1, pad: 'same' },
  { x: [1, 7, 7, 1], f: [2, 2, 1, 2], stride: 1, pad: 'same' },
  { x: [2, 8, 8, 3], f: [2, 2, 3, 2], stride: 2, pad: 'same' },
  { x: [1, 11, 13, 1], f: [1, 1, 1, 4], stride: 1, pad: 'valid' },
  { x: [2, 12, 12, 16], f: [3, 3, 16, 8], stride: 1, pad: 'same' },
];
const TOLERANCE = 1e-4;

/** Gradients of sum(conv2d(x, w) * dy) w.r.t. x and w on the active backend, as plain arrays. */
function convGrads(c: Case, data?: number[][]): number[][] {
  return tf.tidy(() => {
    const x = data ? tf.tensor4d(data[0], c.x) : tf.randomNormal(c.x, 0, 1, 'float32', 1);
    const w = data ? tf.tensor4d(data[1], c.f) : tf.randomNormal(c.f, 0, 1, 'float32', 2);
    const outShape = tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.stride, c.pad).shape;
    const dy = data ? tf.tensor(data[2], outShape) : tf.randomNormal(outShape, 0, 1, 'float32', 3);
    const [gx, gw] = tf.grads((a: tf.Tensor, b: tf.Tensor) =>
      tf.sum(tf.mul(tf.conv2d(a as tf.Tensor4D, b as tf.Tensor4D, c.stride, c.pad), dy)),
    )([x, w]);
    return [x, w, dy, gx, gw].map((t) => Array.from(t.dataSync()));
  });
}

function maxAbsDiff(a: number[], b: number[]): number {
  expect(a.length).toBe(b.length);
  return a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
}

describe('wasm training kernels against the cpu backend', () => {
  const wasmResults: number[][][] = [];
  beforeAll(async () => {
    const info = await initNodeBackend({ backend: 'wasm' });
    expect(info.name).toBe('wasm');
    expect(tf.getKernel('Conv2DBackpropFilter', 'wasm')).toBeDefined();
    for (const c of CASES) wasmResults.push(convGrads(c));
    await tf.setBackend('cpu');
  });

  it.each(CASES.map((c, i) => [JSON.stringify(c), i] as const))('conv2d gradients %s', (_name, i) => {
    const w = wasmResults[i];
    const cpu = convGrads(CASES[i], w.slice(0, 3));
    expect(maxAbsDiff(w[3], cpu[3])).toBeLessThan(TOLERANCE); // dx (Conv2DBackpropInput)
    expect(maxAbsDiff(w[4], cpu[4])).toBeLessThan(TOLERANCE); // dW (Conv2DBackpropFilter)
  });
});

type PoolCase = { x: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid' };
// Windows that tile the input, windows past the far edge under 'same' (odd sizes), overlapping
// windows, batch 1, channels 1 and 3.
const POOLS: PoolCase[] = [
  { x: [2, 8, 8, 3], size: 2, stride: 2, pad: 'valid' },
  { x: [1, 6, 10, 1], size: 2, stride: 2, pad: 'same' },
  { x: [3, 9, 7, 2], size: 2, stride: 2, pad: 'valid' },
  { x: [2, 9, 9, 4], size: 3, stride: 3, pad: 'valid' },
  { x: [1, 7, 7, 3], size: 2, stride: 2, pad: 'same' },
  { x: [2, 9, 8, 2], size: 3, stride: 2, pad: 'same' },
  { x: [4, 24, 24, 32], size: 2, stride: 2, pad: 'same' },
];

/** Gradient of sum(maxPool(x) * dy) w.r.t. x on the active backend. */
function poolGrad(c: PoolCase, data?: number[][]): number[][] {
  return tf.tidy(() => {
    // Rounded values make ties, where the first maximum of a window must win.
    const x = data ? tf.tensor4d(data[0], c.x) : tf.round(tf.mul(tf.randomNormal(c.x, 0, 1, 'float32', 4), 2));
    const outShape = tf.maxPool(x as tf.Tensor4D, c.size, c.stride, c.pad).shape;
    const dy = data ? tf.tensor(data[1], outShape) : tf.randomNormal(outShape, 0, 1, 'float32', 5);
    const gx = tf.grad((a: tf.Tensor) => tf.sum(tf.mul(tf.maxPool(a as tf.Tensor4D, c.size, c.stride, c.pad), dy)))(x);
    return [x, dy, gx].map((t) => Array.from(t.dataSync()));
  });
}

/** The max-pool gradient by definition: each dy value to its window's first maximum inside the input. */
function referencePoolGrad(c: PoolCase, x: number[], dy: number[]): number[] {
  const [n, h, w, ch] = c.x;
  const info = tf.backend_util.computePool2DInfo(c.x, c.size, c.stride, 1, c.pad);
  const dx = new Array<number>(x.length).fill(0);
  let i = 0;
  for (let b = 0; b < n; b++)
    for (let oy = 0; oy < info.outHeight; oy++)
      for (let ox = 0; ox < info.outWidth; ox++)
        for (let k = 0; k < ch; k++, i++) {
          let best = -1;
          for (let y = oy * c.stride - info.padInfo.top; y < oy * c.stride - info.padInfo.top + c.size; y++)
            for (let xx = ox * c.stride - info.padInfo.left; xx < ox * c.stride - info.padInfo.left + c.size; xx++) {
              if (y < 0 || y >= h || xx < 0 || xx >= w) continue;
              const p = ((b * h + y) * w + xx) * ch + k;
              if (best < 0 || x[p] > x[best]) best = p;
            }
          if (best >= 0) dx[best] += dy[i];
        }
  return dx;
}

describe('wasm MaxPoolGrad against the cpu backend and the definition', () => {
  it.each(POOLS.map((c, i) => [JSON.stringify(c), i] as const))('max-pool gradient %s', async (_name, i) => {
    await initNodeBackend({ backend: 'wasm' });
    const wasm = poolGrad(POOLS[i]);
    await tf.setBackend('cpu');
    const cpu = poolGrad(POOLS[i], wasm.slice(0, 2));
    const reference = referencePoolGrad(POOLS[i], wasm[0], wasm[1]);
    expect(maxAbsDiff(cpu[2], reference)).toBeLessThan(TOLERANCE);
    expect(maxAbsDiff(wasm[2], reference)).toBeLessThan(TOLERANCE);
  });
});

describe('wasm leading-axes reductions', () => {
  it('sum and mean over all axes but the last equal the cpu result; other axes use the stock kernel', async () => {
    await initNodeBackend({ backend: 'wasm' });
    const data = Array.from({ length: 3 * 9 * 7 * 5 }, (_, i) => Math.sin(i) * 3);
    const run = () => {
      const x = tf.tensor4d(data.slice(0, 2 * 5 * 3 * 4), [2, 5, 3, 4]);
      const odd = tf.tensor4d(data, [3, 9, 7, 5]);
      const flat = tf.tensor2d(data.slice(0, 63 * 5), [63, 5]);
      const single = tf.tensor4d(data.slice(0, 12), [1, 1, 1, 12]);
      return [
        tf.sum(x, [0, 1, 2]),
        tf.mean(x, [0, 1, 2], true),
        tf.sum(x, [1, 2]),
        tf.mean(x, -1),
        tf.sum(odd, [0, 1, 2]),
        tf.mean(odd, [0, 1, 2]),
        tf.sum(flat, 0),
        tf.mean(flat, 0, true),
        tf.sum(single, [0, 1, 2]),
      ].map((t) => [t.shape, Array.from(t.dataSync())] as const);
    };
    const wasm = run();
    await tf.setBackend('cpu');
    const cpu = run();
    wasm.forEach(([shape, v], i) => {
      expect(shape).toEqual(cpu[i][0]);
      expect(maxAbsDiff(v, [...cpu[i][1]])).toBeLessThan(TOLERANCE);
    });
  });
});

describe('device-side gradients match tfjs-core semantics', () => {
  it('batch-norm, mean and sum gradients equal finite differences', async () => {
    await initNodeBackend({ backend: 'cpu' });
    const x = tf.randomNormal([3, 4, 5, 2], 0, 1, 'float32', 7);
    const scale = tf.tensor1d([1.5, -0.5]);
    const offset = tf.tensor1d([0.1, 0.2]);
    const f = (t: tf.Tensor, s: tf.Tensor, o: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2]);
      const y = tf.batchNorm(t, mean, variance, o, s, 1e-3);
      return tf.sum(tf.mul(tf.square(y), tf.range(0, y.size).reshape(y.shape).div(y.size)));
    };
    const [gx, gs, go] = tf.grads(f)([x, scale, offset]);
    // Central finite differences in float64 on a few coordinates of each input.
    const xv = Array.from(x.dataSync());
    const eps = 1e-2;
    const probe = (vals: number[], shape: number[], k: number, which: 0 | 1 | 2) => {
      const plus = [...vals];
      const minus = [...vals];
      plus[k] += eps;
      minus[k] -= eps;
      const ev = (v: number[]) => {
        const args = [x, scale, offset];
        args[which] = tf.tensor(v, shape);
        return f(args[0], args[1], args[2]).dataSync()[0];
      };
      return (ev(plus) - ev(minus)) / (2 * eps);
    };
    for (const k of [0, 17, 59, 119]) expect(gx.dataSync()[k]).toBeCloseTo(probe(xv, x.shape, k, 0), 1);
    for (const k of [0, 1]) {
      expect(gs.dataSync()[k]).toBeCloseTo(probe(Array.from(scale.dataSync()), [2], k, 1), 1);
      expect(go.dataSync()[k]).toBeCloseTo(probe(Array.from(offset.dataSync()), [2], k, 2), 1);
    }
  });
});
