/**
 * The project's own kernels and gradients, registered into tfjs.
 *
 * - wasm `Conv2DBackpropFilter` (absent from tfjs-backend-wasm): one forward XNNPACK convolution.
 * - wasm `Conv2DBackpropInput` (stride 1): one forward convolution; other strides keep the stock kernel.
 * - wasm `Sum` / `Mean` over all axes but the last: average pooling or one matrix product.
 * - wasm `MaxPoolGrad`: one pass over `dy` that routes each value to its window's first maximum
 *   (float32; other dtypes keep the stock kernel).
 * - `Mean` / `Sum` gradients that broadcast on the device instead of building `ones(x.shape)` in JS.
 */
import * as tf from '@tensorflow/tfjs';
import { conv2dBackpropFilterViaConv, conv2dBackpropInputViaConv, convGeometry } from './conv-grad.ts';

type Shape4 = [number, number, number, number];
type Pad = tf.backend_util.ExplicitPadding | 'valid' | 'same' | number;

interface ConvGradAttrs {
  strides: number | [number, number];
  pad: Pad;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

/** Wasm-side tensor bookkeeping the kernels need (a subset of BackendWasm's public methods). */
interface WasmLike extends tf.KernelBackend {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array;
}

/**
 * Run `fn` on engine tensors that view the kernel's inputs, copy its result into a fresh
 * backend output, and free everything else: the kernel leaks nothing whatever `fn` allocates.
 */
function runComposite(backend: WasmLike, inputs: tf.TensorInfo[], fn: (...t: tf.Tensor[]) => tf.Tensor): tf.TensorInfo {
  const engine = tf.engine();
  // Views share the inputs' data: take a reference so that disposing a view leaves the input alive.
  const views = inputs.map((i) => {
    backend.incRef(i.dataId);
    return engine.makeTensorFromTensorInfo(i, backend);
  });
  const result = fn(...views);
  const out = backend.makeOutput(result.shape, 'float32');
  backend.typedArrayFromHeap(out).set(backend.typedArrayFromHeap(result));
  result.dispose();
  for (const v of views) v.dispose();
  return out;
}

/**
 * Replace a stock wasm kernel by `kernelFunc`, which gets the stock kernel's function to fall back
 * on; the stock setup and dispose functions are kept. Does nothing where the kernel is absent.
 */
function replaceWasmKernel(
  kernelName: string,
  kernelFunc: (args: Parameters<tf.KernelFunc>[0], stock: tf.KernelFunc) => ReturnType<tf.KernelFunc>,
): void {
  const stock = tf.getKernel(kernelName, 'wasm');
  if (!stock) return;
  tf.unregisterKernel(kernelName, 'wasm');
  tf.registerKernel({ ...stock, kernelFunc: (args) => kernelFunc(args, stock.kernelFunc) });
}

let wasmKernelsRegistered = false;

/** Register the wasm training kernels. Idempotent. Call after the wasm backend is registered. */
export function registerWasmTrainingKernels(): void {
  if (wasmKernelsRegistered) return;
  wasmKernelsRegistered = true;

  tf.registerKernel({
    kernelName: tf.Conv2DBackpropFilter,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
      const a = attrs as unknown as ConvGradAttrs & { filterShape: Shape4 };
      if (a.dataFormat === 'NCHW') throw new Error('Conv2DBackpropFilter (wasm): NCHW is not supported');
      const g = convGeometry(x.shape as Shape4, a.filterShape, a.strides, a.pad, a.dimRoundingMode);
      return runComposite(backend as WasmLike, [x, dy], (xt, dyt) => conv2dBackpropFilterViaConv(xt as tf.Tensor4D, dyt as tf.Tensor4D, g));
    },
  });

  registerLeadingAxesReduction(tf.Sum);
  registerLeadingAxesReduction(tf.Mean);
  registerMaxPoolGrad();

  replaceWasmKernel(tf.Conv2DBackpropInput, (args, stock) => {
    const { dy, filter } = args.inputs as { dy: tf.TensorInfo; filter: tf.TensorInfo };
    const a = args.attrs as unknown as ConvGradAttrs & { inputShape: Shape4 };
    const g = convGeometry(a.inputShape, filter.shape as Shape4, a.strides, a.pad, a.dimRoundingMode);
    if (a.dataFormat === 'NCHW' || g.strideHeight !== 1 || g.strideWidth !== 1) return stock(args);
    return runComposite(args.backend as WasmLike, [dy, filter], (dyt, ft) =>
      conv2dBackpropInputViaConv(dyt as tf.Tensor4D, ft as tf.Tensor4D, g),
    );
  });
}

/**
 * Replace wasm's `MaxPoolGrad`: each `dy` value goes to the first maximum of its window (row-major
 * within the window, padding excluded), as tfjs' cpu backend does. One pass over `dy`; 2x2 windows
 * are unrolled. The stock wasm kernel is slower, and with 'same' padding it disagrees with the cpu
 * backend where windows run past the input's far edge (see kernels.test.ts).
 */
function registerMaxPoolGrad(): void {
  replaceWasmKernel(tf.MaxPoolGrad, (args, stockFunc) => {
    const { dy, input } = args.inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const a = args.attrs as unknown as {
      filterSize: number | [number, number];
      strides: number | [number, number];
      pad: Pad;
      dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const info = tf.backend_util.computePool2DInfo(input.shape as Shape4, a.filterSize, a.strides, 1, a.pad, a.dimRoundingMode);
    if (input.dtype !== 'float32' || dy.dtype !== 'float32') return stockFunc(args);
    const backend = args.backend as WasmLike;
    const out = backend.makeOutput(input.shape, 'float32');
    // Heap views, taken after the allocation (which may grow the wasm memory).
    const x = backend.typedArrayFromHeap(input);
    const g = backend.typedArrayFromHeap(dy);
    const dx = backend.typedArrayFromHeap(out);
    dx.fill(0);
    const { batchSize, inHeight: H, inWidth: W, inChannels: C, outHeight: OH, outWidth: OW } = info;
    const { filterHeight: fh, filterWidth: fw, strideHeight: sh, strideWidth: sw, padInfo } = info;
    const row = W * C;
    let gi = 0;
    for (let b = 0; b < batchSize; b++) {
      for (let oy = 0; oy < OH; oy++) {
        // The window, clipped to the input: padding never holds the maximum.
        const y0 = oy * sh - padInfo.top;
        const ya = Math.max(0, y0);
        const yb = Math.min(H, y0 + fh);
        for (let ox = 0; ox < OW; ox++) {
          const x0 = ox * sw - padInfo.left;
          const xa = Math.max(0, x0);
          const xb = Math.min(W, x0 + fw);
          const corner = ((b * H + ya) * W + xa) * C;
          if (yb - ya === 2 && xb - xa === 2) {
            // Whole 2x2 windows, the registry's pools: unrolled.
            for (let c = 0; c < C; c++, gi++) {
              const p0 = corner + c;
              const p1 = p0 + C;
              const p2 = p0 + row;
              const p3 = p2 + C;
              let best = p0;
              if (x[p1] > x[best]) best = p1;
              if (x[p2] > x[best]) best = p2;
              if (x[p3] > x[best]) best = p3;
              dx[best] += g[gi];
            }
          } else if (yb > ya && xb > xa) {
            for (let c = 0; c < C; c++, gi++) {
              let best = corner + c;
              for (let y = ya; y < yb; y++) {
                for (let xx = xa; xx < xb; xx++) {
                  const p = ((b * H + y) * W + xx) * C + c;
                  if (x[p] > x[best]) best = p;
                }
              }
              dx[best] += g[gi];
            }
          } else {
            gi += C; // A window entirely in the padding has no input to route to.
          }
        }
      }
    }
    return out;
  });
}

/**
 * Replace a wasm reduction kernel so that reducing all axes but the last (batch-norm moments and
 * their gradients on NHWC tensors) avoids the stock kernel's full transpose. Rank-4 tensors go
 * through XNNPACK's average pooling over each image's H x W, then a [1, N] x [N, C] product;
 * others through one [1, n] x [n, c] product. Other reductions keep the stock kernel.
 */
function registerLeadingAxesReduction(kernelName: typeof tf.Sum | typeof tf.Mean): void {
  replaceWasmKernel(kernelName, (args, stockFunc) => {
    const { x } = args.inputs as { x: tf.TensorInfo };
    const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
    const rank = x.shape.length;
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const leading = rank >= 2 && axes.length === rank - 1 && axes.every((a, i) => a === i);
    if (!leading || x.dtype !== 'float32') return stockFunc(args);
    const c = x.shape[rank - 1];
    const n = tf.util.sizeFromShape(x.shape) / c;
    const outShape = keepDims ? [...x.shape.slice(0, -1).map(() => 1), c] : [c];
    const weight = kernelName === tf.Mean ? 1 / n : 1;
    return runComposite(args.backend as WasmLike, [x], (xt) => {
      if (rank === 4) {
        // NHWC activations: XNNPACK's average pooling over each image (one pass, no packing),
        // then a small [1, N] x [N, C] product over the batch.
        const [batch, h, w] = x.shape;
        const perImage = tf.reshape(tf.avgPool(xt as tf.Tensor4D, [h, w], 1, 'valid'), [batch, c]);
        return tf.reshape(tf.matMul(tf.fill([1, batch], weight * h * w), perImage), outShape);
      }
      // XNNPACK packs the [n, c] operand as weights on every call: fine for small tensors.
      const r = tf.matMul(tf.fill([1, n], weight), tf.reshape(xt, [n, c]));
      return tf.reshape(r, outShape);
    });
  });
}

let gradientsRegistered = false;

/**
 * Replace tfjs-core's `Mean` and `Sum` gradients, which build `ones(x.shape)` in JavaScript memory
 * and upload it every step, by ones that reshape and broadcast `dy` on the device.
 */
export function registerDeviceGradients(): void {
  if (gradientsRegistered) return;
  gradientsRegistered = true;
  const expanded = (x: tf.Tensor, dy: tf.Tensor, axis: number | number[]) => {
    const axes = tf.util.parseAxisParam(axis, x.shape);
    const kept = tf.backend_util.expandShapeToKeepDim(dy.shape, axes);
    // A broadcasting add onto a device-side fill: Tile (broadcastTo) is slow on wasm.
    return { axes, b: tf.add(tf.fill(x.shape, 0, dy.dtype), tf.reshape(dy, kept)) };
  };
  const quiet = <T>(f: () => T): T => {
    // registerGradient warns when it overrides tfjs' own gradient; that override is the point.
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      return f();
    } finally {
      console.warn = warn;
    }
  };
  quiet(() => {
    tf.registerGradient(fusedBatchNormGradient);
    tf.registerGradient({
      kernelName: tf.Sum,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        return { x: () => expanded(x, dy as tf.Tensor, axis).b };
      },
    });
    tf.registerGradient({
      kernelName: tf.Mean,
      inputsToSave: ['x'],
      gradFunc: (dy, saved, attrs) => {
        const [x] = saved;
        const { axis } = attrs as unknown as { axis: number | number[] };
        return {
          x: () => {
            const { axes, b } = expanded(x, dy as tf.Tensor, axis);
            const reduceSize = axes.reduce((n, a) => n * x.shape[a], 1);
            return tf.div(b, reduceSize);
          },
        };
      },
    });
  });
}

/** Sum `t` down to `shape` over the axes that broadcasting expanded (the inverse of a broadcast). */
function reduceTo(t: tf.Tensor, shape: number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes(shape, t.shape);
  const summed = axes.length ? tf.sum(t, axes) : t;
  return tf.reshape(summed, shape);
}

/**
 * Batch-norm gradient with broadcasting instead of tfjs-core's, which tiles the per-channel
 * statistics to the full activation shape (the largest cost of a training step on wasm).
 *   r = rsqrt(var + eps);  dx = dy·r·scale;  dmean = -Σ dy·r·scale;
 *   dvar = Σ dy·(x-mean)·scale·(-r³/2);  dscale = Σ dy·(x-mean)·r;  doffset = Σ dy
 */
const fusedBatchNormGradient: tf.GradConfig = {
  kernelName: tf.FusedBatchNorm,
  inputsToSave: ['x', 'mean', 'variance', 'scale'],
  gradFunc: (dyIn, saved, attrs) => {
    const dy = dyIn as tf.Tensor;
    const { varianceEpsilon } = attrs as unknown as { varianceEpsilon: number };
    const [x, mean, variance, scale] = saved;
    const r = tf.rsqrt(tf.add(variance, varianceEpsilon));
    const rs = scale ? tf.mul(r, scale) : r;
    const centered = () => tf.sub(x, mean);
    return {
      x: () => tf.mul(dy, rs),
      mean: () => reduceTo(tf.neg(tf.mul(dy, rs)), mean.shape),
      variance: () => reduceTo(tf.mul(tf.mul(dy, centered()), tf.mul(tf.mul(rs, tf.pow(r, 2)), -0.5)), variance.shape),
      scale: () => reduceTo(tf.mul(tf.mul(dy, centered()), r), scale.shape),
      offset: () => reduceTo(dy, mean.shape),
    };
  },
};
