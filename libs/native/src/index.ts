/**
 * @emodetect/native: the whole training step (and inference) of a registry net in C++ on oneDNN,
 * for Node on Linux x64. Optional: it needs Debian's `libdnnl-dev` and `g++` at install time
 * (`npm ci` builds `build/libemonative.so`); where the library is missing, {@link nativeStatus}
 * says why in one line and callers keep the wasm path.
 *
 * One model definition, two executors: the net is read from the tfjs model's own layers
 * ({@link nativeSpec}), weights are copied from and back into its variables in tfjs' layouts, and
 * the optimizer state uses tfjs Adam's names, so a checkpoint moves between backends.
 */
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { augmentImagesInto, mixup, mixupSeed, Rng } from '@emodetect/augment';
import { averageViews, type EmotionModel, type InferenceRuntime } from '@emodetect/model';
import type { NamedTensor, StepEngine } from '@emodetect/train';

type LayerVariable = tf.layers.Layer['weights'][number];

/** Where the native library stands on this machine. */
export interface NativeStatus {
  available: boolean;
  /** Path of the shared library that was (or would be) loaded. */
  library: string;
  /** e.g. "oneDNN 2.6.3 (OpenMP)" when available. */
  version?: string;
  /** One line on why it is not available. */
  reason?: string;
}

/** Thrown when a model has a layer the native executor does not implement (the message names it). */
export class NativeUnsupportedError extends Error {
  override name = 'NativeUnsupportedError';
}

interface KoffiFn {
  (...args: unknown[]): unknown;
  async(...args: unknown[]): void;
}
interface Lib {
  version: KoffiFn;
  create: KoffiFn;
  destroy: KoffiFn;
  classes: KoffiFn;
  paramCount: KoffiFn;
  paramSize: KoffiFn;
  paramTrainable: KoffiFn;
  getParam: KoffiFn;
  setParam: KoffiFn;
  getStep: KoffiFn;
  setStep: KoffiFn;
  trainStep: KoffiFn;
  forward: KoffiFn;
  layerCount: KoffiFn;
  setProfile: KoffiFn;
  getProfile: KoffiFn;
}

const DEFAULT_LIBRARY = fileURLToPath(new URL('../build/libemonative.so', import.meta.url));
let loaded: { lib: Lib | null; status: NativeStatus } | null = null;

function load(): { lib: Lib | null; status: NativeStatus } {
  if (loaded) return loaded;
  const library = process.env.EMODETECT_NATIVE_LIB || DEFAULT_LIBRARY;
  const fail = (reason: string) => (loaded = { lib: null, status: { available: false, library, reason } });
  if (process.platform !== 'linux' || process.arch !== 'x64')
    return fail(`native training needs linux-x64 (this is ${process.platform}-${process.arch})`);
  if (!existsSync(library))
    return fail(`${library} is not built (apt-get install libdnnl-dev g++, then npm run build -w @emodetect/native)`);
  // OpenMP reads its settings once, when the library loads. Passive waiting keeps idle threads
  // from spinning on a core that other work needs (measured in BENCHMARKS.md).
  process.env.OMP_WAIT_POLICY ??= 'passive';
  try {
    const require = createRequire(import.meta.url);
    const koffi = require('koffi') as {
      load(path: string): { func(proto: string): KoffiFn };
    };
    const l = koffi.load(library);
    const lib: Lib = {
      version: l.func('const char *emo_version()'),
      create: l.func('void *emo_create(const char *spec, int H, int W, int C, int batch, int threads, int bf16, char *err, int errlen)'),
      destroy: l.func('void emo_destroy(void *h)'),
      classes: l.func('int emo_classes(void *h)'),
      paramCount: l.func('int emo_param_count(void *h)'),
      paramSize: l.func('int emo_param_size(void *h, int i)'),
      paramTrainable: l.func('int emo_param_trainable(void *h, int i)'),
      getParam: l.func('int emo_get_param(void *h, int i, int which, float *dst)'),
      setParam: l.func('int emo_set_param(void *h, int i, int which, const float *src)'),
      getStep: l.func('double emo_get_step(void *h)'),
      setStep: l.func('void emo_set_step(void *h, double t)'),
      trainStep: l.func(
        'int emo_train_step(void *h, int n, const float *x, const float *t, const float *sw, float lr, double seed, int apply, float *out, char *err, int errlen)',
      ),
      forward: l.func('int emo_forward(void *h, int n, const float *x, float *probs, char *err, int errlen)'),
      layerCount: l.func('int emo_layer_count(void *h)'),
      setProfile: l.func('void emo_set_profile(void *h, int on)'),
      getProfile: l.func('void emo_get_profile(void *h, double *out)'),
    };
    return (loaded = { lib, status: { available: true, library, version: lib.version() as string } });
  } catch (e) {
    return fail(`${library} could not be loaded: ${(e as Error).message.split('\n')[0]}`);
  }
}

/** Whether the native library is built and loads here, and if not, why (one line). */
export function nativeStatus(): NativeStatus {
  return load().status;
}

/**
 * Threads for the native step: one per core (at most 8) by default, `EMODETECT_NATIVE_THREADS` to override.
 * (OpenMP waits passively, so a busy machine loses little; see BENCHMARKS.md.)
 */
/**
 * Whether this CPU runs oneDNN's bf16 convolutions (`--precision bf16`): it needs the AVX512-BF16
 * (or AMX-BF16) instructions, read from /proc/cpuinfo. Without them oneDNN 2.6 has no bf16
 * training kernels, and a bf16 step would fail in the middle of a run.
 */
export function bf16Support(): { ok: true } | { ok: false; reason: string } {
  let flags = '';
  try {
    flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:(.*)$/m)?.[1] ?? '';
  } catch {
    return { ok: false, reason: 'cannot read /proc/cpuinfo to check for AVX512-BF16' };
  }
  const have = flags.split(/\s+/);
  if (have.includes('avx512_bf16') || have.includes('amx_bf16')) return { ok: true };
  const best = ['avx512f', 'avx2', 'avx'].find((f) => have.includes(f)) ?? 'none of AVX';
  return { ok: false, reason: `this CPU has no AVX512-BF16 instructions (its widest vector set is ${best}); use fp32` };
}

export function defaultNativeThreads(): number {
  const env = Number(process.env.EMODETECT_NATIVE_THREADS);
  if (Number.isInteger(env) && env > 0) return env;
  return Math.max(1, Math.min(8, availableParallelism()));
}

type Config = Record<string, unknown>;
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/**
 * The native net of a tfjs model: one line per layer (see src/emonative.cpp) and the model's
 * variables in the native parameter order. Throws {@link NativeUnsupportedError} naming the first
 * layer it cannot run.
 */
export function nativeSpec(model: tf.LayersModel): { spec: string; variables: LayerVariable[]; input: [number, number, number] } {
  const lines: string[] = [];
  const variables: LayerVariable[] = [];
  const shape = model.inputs[0].shape;
  if (shape.length !== 4)
    throw new NativeUnsupportedError(`native: the model's input must be [batch, height, width, channels], not [${shape.join(', ')}]`);
  const input: [number, number, number] = [Number(shape[1]), Number(shape[2]), Number(shape[3])];
  let previous: tf.layers.Layer | null = null;
  const unsupported = (layer: tf.layers.Layer, why: string) =>
    new NativeUnsupportedError(`native: layer "${layer.name}" (${layer.getClassName()}) ${why}`);
  const activation = (layer: tf.layers.Layer, a: unknown) => {
    if (a === 'linear' || a == null) return;
    if (a === 'relu') lines.push('relu');
    else if (a === 'softmax') lines.push('softmax');
    else throw unsupported(layer, `has activation "${String(a)}"`);
  };
  for (const layer of model.layers) {
    const cls = layer.getClassName();
    const cfg = layer.getConfig() as Config;
    const inbound = (layer as unknown as { inboundNodes: { inboundLayers: tf.layers.Layer[] }[] }).inboundNodes;
    if (cls !== 'InputLayer') {
      const from = inbound.length === 1 && inbound[0].inboundLayers.length === 1 ? inbound[0].inboundLayers[0] : null;
      if (from !== previous) throw unsupported(layer, 'is not fed by the layer before it (only plain chains run natively)');
    }
    previous = layer;
    switch (cls) {
      case 'InputLayer':
        break;
      case 'Conv2D':
      case 'DepthwiseConv2D': {
        const [kh, kw] = pair(cfg.kernelSize);
        const [sh, sw] = pair(cfg.strides);
        const [dh, dw] = pair(cfg.dilationRate ?? 1);
        if (kh !== kw || sh !== sw) throw unsupported(layer, 'is not square (kernel or strides)');
        if (dh !== 1 || dw !== 1) throw unsupported(layer, 'is dilated');
        if (cfg.dataFormat !== 'channelsLast') throw unsupported(layer, 'is not channels-last');
        if (cfg.padding !== 'same' && cfg.padding !== 'valid') throw unsupported(layer, `has padding "${String(cfg.padding)}"`);
        // conv <filters> …, or dwconv <multiplier> … (each input channel its own filters).
        const head = cls === 'Conv2D' ? `conv ${cfg.filters}` : `dwconv ${cfg.depthMultiplier ?? 1}`;
        lines.push(`${head} ${kh} ${sh} ${cfg.padding} ${cfg.useBias ? 1 : 0}`);
        activation(layer, cfg.activation);
        break;
      }
      case 'BatchNormalization': {
        const axis = Number(cfg.axis);
        if (axis !== -1 && axis !== 3) throw unsupported(layer, 'normalises an axis other than channels');
        if (cfg.center === false || cfg.scale === false) throw unsupported(layer, 'has no centre or scale');
        lines.push(`bn ${cfg.momentum} ${cfg.epsilon}`);
        break;
      }
      case 'ReLU':
        if (cfg.maxValue != null) throw unsupported(layer, 'has a maximum value');
        lines.push('relu');
        break;
      case 'Activation':
        activation(layer, cfg.activation);
        break;
      case 'MaxPooling2D': {
        const [ph, pw] = pair(cfg.poolSize);
        const [sh, sw] = pair(cfg.strides ?? cfg.poolSize);
        if (ph !== pw || sh !== sw) throw unsupported(layer, 'is not square');
        if (cfg.padding !== 'valid') throw unsupported(layer, 'does not use valid padding');
        lines.push(`maxpool ${ph} ${sh}`);
        break;
      }
      case 'Dropout':
        if (cfg.noiseShape != null) throw unsupported(layer, 'has a noise shape');
        lines.push(`dropout ${cfg.rate}`);
        break;
      case 'GlobalAveragePooling2D':
        lines.push('gap');
        break;
      case 'Dense':
        if (!cfg.useBias) throw unsupported(layer, 'has no bias');
        lines.push(`dense ${cfg.units}`);
        activation(layer, cfg.activation);
        break;
      case 'Softmax':
        lines.push('softmax');
        break;
      case 'EmoPositionEmbedding':
        lines.push('posemb');
        break;
      case 'EmoTransformerBlock':
        lines.push(`tblock ${cfg.heads} ${cfg.mlp} ${cfg.epsilon}`);
        break;
      default:
        throw unsupported(layer, 'is not implemented natively');
    }
    variables.push(...layer.weights);
  }
  if (lines[lines.length - 1] !== 'softmax') throw new NativeUnsupportedError('native: the model must end in softmax');
  return { spec: lines.join('\n'), variables, input };
}

/**
 * `fp32` (default), or `bf16`: convolutions after the first take bfloat16 inputs and weights
 * (AVX512-BF16 kernels, about twice as fast here) and still produce f32 outputs and gradients;
 * weights, batch-norm, the loss and Adam stay f32.
 */
export type NativePrecision = 'fp32' | 'bf16';

export interface NativeNetOptions {
  /** Largest batch the net will see (buffers are allocated for it once). */
  batchSize: number;
  /** OpenMP threads (default {@link defaultNativeThreads}). */
  threads?: number;
  precision?: NativePrecision;
}

/** Loss sums of one native step (as `ShardResult` in @emodetect/train, without gradients). */
export interface NativeStepResult {
  lossSum: number;
  weightSum: number;
  hits: number;
}

/** Adam's state in tfjs' format: `iter`, then `<variable>/m` and `<variable>/v` in trainable order. */
export interface NamedArray {
  name: string;
  values: Float32Array;
  shape: number[];
}

const ERR_LEN = 512;

/**
 * A registry net living in native memory: weights, gradients, Adam moments and every activation
 * buffer, allocated once. Steps and forward passes run on a koffi worker thread, so the event loop
 * (progress bars, Ctrl-C) keeps going.
 */
export class NativeNet {
  readonly classes: number;
  readonly input: [number, number, number];
  readonly batchSize: number;
  private handle: unknown;
  private readonly lib: Lib;
  private readonly variables: LayerVariable[];
  private readonly sizes: number[];
  private readonly trainable: boolean[];
  private readonly err = Buffer.alloc(ERR_LEN);
  private busy = false;

  /** Layer kinds in order (conv, bn, relu, maxpool, dropout, gap, dense, softmax). */
  readonly layers: string[];

  private constructor(
    lib: Lib,
    handle: unknown,
    variables: LayerVariable[],
    input: [number, number, number],
    batchSize: number,
    layers: string[],
  ) {
    this.layers = layers;
    this.lib = lib;
    this.handle = handle;
    this.variables = variables;
    this.input = input;
    this.batchSize = batchSize;
    this.classes = lib.classes(handle) as number;
    const count = lib.paramCount(handle) as number;
    if (count !== variables.length) throw new Error(`native: ${count} parameters for ${variables.length} tfjs variables`);
    this.sizes = Array.from({ length: count }, (_, i) => lib.paramSize(handle, i) as number);
    this.trainable = Array.from({ length: count }, (_, i) => (lib.paramTrainable(handle, i) as number) === 1);
    variables.forEach((v, i) => {
      const size = v.shape.reduce<number>((a, b) => a * (b ?? 1), 1);
      if (size !== this.sizes[i] || v.trainable !== this.trainable[i])
        throw new Error(`native: parameter ${i} does not match ${v.originalName} (${size} values, trainable ${v.trainable})`);
    });
  }

  /** Build the native net of a tfjs model and copy its weights in. */
  static fromModel(model: tf.LayersModel, opts: NativeNetOptions): NativeNet {
    const { lib, status } = load();
    if (!lib) throw new NativeUnsupportedError(`native: ${status.reason}`);
    const { spec, variables, input } = nativeSpec(model);
    const err = Buffer.alloc(ERR_LEN);
    const bf16 = opts.precision === 'bf16' ? 1 : 0;
    if (bf16) {
      const support = bf16Support();
      if (!support.ok) throw new NativeUnsupportedError(`native: bf16: ${support.reason}`);
    }
    const handle = lib.create(
      spec,
      input[0],
      input[1],
      input[2],
      opts.batchSize,
      opts.threads ?? defaultNativeThreads(),
      bf16,
      err,
      ERR_LEN,
    );
    if (!handle) throw new Error(`native: ${cString(err)}`);
    const net = new NativeNet(
      lib,
      handle,
      variables,
      input,
      opts.batchSize,
      spec.split('\n').map((l) => l.split(' ')[0]),
    );
    net.pushWeights();
    return net;
  }

  private h(): unknown {
    if (!this.handle) throw new Error('native: the net was disposed');
    return this.handle;
  }

  /** Start (and zero) per-layer timing, or stop it. */
  profile(on: boolean): void {
    this.lib.setProfile(this.h(), on ? 1 : 0);
  }

  /** Milliseconds per layer since {@link profile} started, forward and backward. */
  profileResult(): { layer: number; kind: string; forwardMs: number; backwardMs: number }[] {
    const n = this.lib.layerCount(this.h()) as number;
    const out = new Float64Array(2 * n);
    this.lib.getProfile(this.h(), out);
    return Array.from({ length: n }, (_, i) => ({ layer: i, kind: this.layers[i], forwardMs: out[i], backwardMs: out[n + i] }));
  }

  /** Copy the tfjs variables' values (weights and batch-norm statistics) into the native net. */
  pushWeights(): void {
    this.variables.forEach((v, i) => {
      const values = v.read().dataSync() as Float32Array;
      this.lib.setParam(this.h(), i, 0, values);
    });
  }

  /** Copy the native weights and batch-norm statistics back into the tfjs variables. */
  pullWeights(): void {
    this.variables.forEach((v, i) => {
      const values = new Float32Array(this.sizes[i]);
      this.lib.getParam(this.h(), i, 0, values);
      const t = tf.tensor(values, v.shape as number[]);
      v.write(t);
      t.dispose();
    });
  }

  /** Gradients of the last step, one per trainable variable (in the model's variable order). */
  gradients(): { name: string; values: Float32Array }[] {
    const out: { name: string; values: Float32Array }[] = [];
    this.variables.forEach((v, i) => {
      if (!this.trainable[i]) return;
      const values = new Float32Array(this.sizes[i]);
      this.lib.getParam(this.h(), i, 1, values);
      out.push({ name: v.originalName, values });
    });
    return out;
  }

  /** The trainable variables by their tfjs variable name, with their native parameter index. */
  private trainableByName(): Map<string, { v: LayerVariable; i: number }> {
    return new Map(this.variables.flatMap((v, i) => (this.trainable[i] ? [[(v.read() as tf.Variable).name, { v, i }] as const] : [])));
  }

  /** Adam's state in tfjs' named format (readable by tfjs' `optimizer.setWeights`). */
  optimizerState(order: readonly string[]): NamedArray[] {
    const out: NamedArray[] = [{ name: 'iter', values: Float32Array.of(this.lib.getStep(this.h()) as number), shape: [] }];
    const byName = this.trainableByName();
    const moments: NamedArray[][] = [[], []];
    for (const name of order) {
      const x = byName.get(name);
      if (!x) throw new Error(`native: no trainable variable named ${name}`);
      [2, 3].forEach((which, k) => {
        const values = new Float32Array(this.sizes[x.i]);
        this.lib.getParam(this.h(), x.i, which, values);
        moments[k].push({ name: `${name}/${k === 0 ? 'm' : 'v'}`, values, shape: x.v.shape as number[] });
      });
    }
    return [...out, ...moments[0], ...moments[1]];
  }

  /**
   * Restore Adam's state from tfjs' format: `iter`, then the first moments, then the second, each
   * in the order of `order` (trainable variable names, as the model lists them). Like tfjs'
   * `setWeights`, entries are matched by position: variable names change from one load to the next.
   */
  setOptimizerState(state: readonly NamedArray[], order: readonly string[]): void {
    const byName = this.trainableByName();
    const rest = state.filter((s) => s.name !== 'iter');
    const iter = state.find((s) => s.name === 'iter');
    if (!iter || rest.length !== 2 * order.length)
      throw new Error(`native: the optimizer state has ${rest.length} moments${iter ? '' : ' and no iter'}, expected 2 x ${order.length}`);
    const targets = order.map((name) => {
      const x = byName.get(name);
      if (!x) throw new Error(`native: no trainable variable named ${name}`);
      return x;
    });
    rest.forEach((s, j) => {
      const x = targets[j % order.length];
      if (s.values.length !== this.sizes[x.i])
        throw new Error(
          `native: optimizer state "${s.name}" has ${s.values.length} values, expected ${this.sizes[x.i]} for ${x.v.originalName}`,
        );
    });
    this.lib.setStep(this.h(), iter.values[0]);
    rest.forEach((s, j) => this.lib.setParam(this.h(), targets[j % order.length].i, j < order.length ? 2 : 3, s.values));
  }

  /**
   * One training step on `n` images (n x height x width x channels, already augmented), targets
   * (n x classes) and per-image loss weights. Gradients are those of Σ w·CE / Σ w; Adam updates
   * the weights unless `apply` is false. `seed` draws the dropout masks.
   */
  async step(
    x: Float32Array,
    targets: Float32Array,
    weights: Float32Array,
    n: number,
    learningRate: number,
    seed: number,
    apply = true,
  ): Promise<NativeStepResult> {
    this.checkBatch(x, n);
    const out = new Float32Array(3);
    await this.call(this.lib.trainStep, [this.h(), n, x, targets, weights, learningRate, seed, apply ? 1 : 0, out, this.err, ERR_LEN]);
    return { lossSum: out[0], weightSum: out[1], hits: out[2] };
  }

  /** Class probabilities (n x classes) in inference mode: moving batch-norm statistics, no dropout. */
  async forward(x: Float32Array, n: number): Promise<Float32Array> {
    this.checkBatch(x, n);
    const probs = new Float32Array(n * this.classes);
    await this.call(this.lib.forward, [this.h(), n, x, probs, this.err, ERR_LEN]);
    return probs;
  }

  private checkBatch(x: Float32Array, n: number): void {
    const per = this.input[0] * this.input[1] * this.input[2];
    if (!Number.isInteger(n) || n < 1 || n > this.batchSize) throw new Error(`native: batch of ${n} is outside 1..${this.batchSize}`);
    if (x.length < n * per) throw new Error(`native: ${x.length} input values for ${n} images of ${per}`);
  }

  private call(fn: KoffiFn, args: unknown[]): Promise<void> {
    if (this.busy) return Promise.reject(new Error('native: one call at a time per net'));
    this.busy = true;
    return new Promise((resolve, reject) => {
      fn.async(...args, (e: Error | null, rc: number) => {
        this.busy = false;
        if (e) reject(e);
        else if (rc !== 0) reject(new Error(`native: ${cString(this.err)}`));
        else resolve();
      });
    });
  }

  /** Free the native memory. */
  dispose(): void {
    if (this.handle && !this.busy) this.lib.destroy(this.handle);
    this.handle = null;
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('utf8') || 'unknown error';
}

/** Options of {@link createNativeEngine}. */
export interface NativeEngineOptions {
  /** The training batch size (the largest batch a step sees). */
  batchSize: number;
  /** OpenMP threads (default {@link defaultNativeThreads}). */
  threads?: number;
  /** Adam's state to resume from, in tfjs' named format (a checkpoint's `optimizer.bin`). */
  optimizerWeights?: NamedTensor[];
  precision?: NativePrecision;
  /**
   * Online distillation: these models (same input and classes) see every augmented batch, in
   * inference mode, and each image's target becomes `(1 - weight)·target + weight·mean(teachers)`.
   * The engine runs them natively and owns their native copies (not the tfjs models).
   */
  teachers?: { models: readonly EmotionModel[]; weight: number };
}

/** Teachers run natively on each training batch (see {@link NativeEngineOptions.teachers}). */
function onlineTeachers(
  student: EmotionModel,
  t: NonNullable<NativeEngineOptions['teachers']>,
  opts: { batchSize: number; threads: number; precision: NativePrecision },
) {
  const { height, width, channels } = student.metadata.input;
  const per = height * width * channels;
  const k = student.metadata.labels.length;
  const nets: { net: NativeNet; mean: number; std: number }[] = [];
  try {
    for (const m of t.models) {
      const i = m.metadata.input;
      if (
        i.height !== height ||
        i.width !== width ||
        i.channels !== channels ||
        m.metadata.labels.join() !== student.metadata.labels.join()
      )
        throw new Error(`native: teacher ${m.metadata.name} reads other faces or names other classes than the student`);
      nets.push({ net: NativeNet.fromModel(m.model, opts), mean: i.mean, std: i.std });
    }
  } catch (e) {
    for (const n of nets) n.net.dispose();
    throw e;
  }
  const x = new Float32Array(opts.batchSize * per);
  const y = new Float32Array(opts.batchSize * k);
  return {
    /** The blended targets of a batch of `n` raw (0..1) images `raw` with targets `targets`. */
    async blend(raw: Float32Array, targets: Float32Array, n: number): Promise<Float32Array> {
      const avg = new Float32Array(n * k);
      for (const { net, mean, std } of nets) {
        for (let i = 0; i < n * per; i++) x[i] = (raw[i] - mean) / std;
        const p = await net.forward(x, n);
        for (let i = 0; i < n * k; i++) avg[i] += p[i] / nets.length;
      }
      for (let i = 0; i < n * k; i++) y[i] = (1 - t.weight) * targets[i] + t.weight * avg[i];
      return y;
    },
    dispose: () => nets.forEach((n) => n.net.dispose()),
  };
}

/**
 * The native executor for `@emodetect/train`'s loop: the model's weights and Adam's state move
 * into native memory; steps augment the batch in JavaScript (`augmentImagesInto`, the same draws
 * as the tfjs path), then run forward, backward and Adam natively. `runtime` serves inference on
 * the current weights (validation while training), with the model's normalisation and TTA.
 */
export function createNativeEngine(m: EmotionModel, opts: NativeEngineOptions): StepEngine & { net: NativeNet } {
  const threads = opts.threads ?? defaultNativeThreads();
  const precision = opts.precision ?? 'fp32';
  const net = NativeNet.fromModel(m.model, { batchSize: opts.batchSize, threads, precision });
  const order = m.model.trainableWeights.map((v) => (v.read() as tf.Variable).name);
  let teachers: ReturnType<typeof onlineTeachers> | undefined;
  try {
    if (opts.teachers) teachers = onlineTeachers(m, opts.teachers, { batchSize: opts.batchSize, threads, precision });
    if (opts.optimizerWeights) {
      net.setOptimizerState(
        opts.optimizerWeights.map((w) => ({ name: w.name, values: Float32Array.from(w.tensor.dataSync()), shape: w.tensor.shape })),
        order,
      );
    }
  } catch (e) {
    net.dispose();
    teachers?.dispose();
    throw e;
  }
  const { height, width, channels } = m.metadata.input;
  const per = height * width * channels;
  const augmented = new Float32Array(opts.batchSize * per);
  const description = `native (${nativeStatus().version}, ${threads} thread${threads > 1 ? 's' : ''}${precision === 'bf16' ? ', bf16 convolutions' : ''})`;
  const teaching = opts.teachers ? `, ${opts.teachers.models.length} online teacher${opts.teachers.models.length > 1 ? 's' : ''}` : '';
  return {
    description: description + teaching,
    net,
    async step(req, learningRate) {
      const a = req.augment;
      const any = a.rotation || a.flip || a.zoom || a.shift || a.brightness || a.contrast || a.erase;
      let x = req.pixels;
      if (any) {
        augmentImagesInto(req.pixels, augmented, req.n, req.height, req.width, a, new Rng(req.augmentSeed));
        x = augmented;
      }
      let { targets, sampleWeights } = req;
      if (a.mixup) {
        const mixed = mixup(
          { pixels: x, targets, weights: sampleWeights },
          req.n,
          per,
          req.classes,
          a.mixup,
          new Rng(mixupSeed(req.augmentSeed)),
        );
        ({ pixels: x, targets, weights: sampleWeights } = mixed);
      }
      if (teachers) targets = await teachers.blend(x, targets, req.n);
      return net.step(x, targets, sampleWeights, req.n, learningRate, req.randomSeed);
    },
    syncToModel: () => net.pullWeights(),
    optimizerWeights: () =>
      net.optimizerState(order).map((s) => ({
        name: s.name,
        tensor: s.name === 'iter' ? tf.scalar(s.values[0], 'int32') : tf.tensor(s.values, s.shape),
      })),
    runtime: nativeRuntime(m, net, description),
    dispose: () => {
      net.dispose();
      teachers?.dispose();
    },
  };
}

/**
 * Inference through a native net, with the model's normalisation and TTA (as `predictTensor` does
 * in tfjs). Batches larger than the net's are split.
 */
function nativeRuntime(m: EmotionModel, net: NativeNet, description: string): InferenceRuntime {
  const { height, width, channels, mean, std } = m.metadata.input;
  const per = height * width * channels;
  const k = net.classes;
  const buf = new Float32Array(net.batchSize * per);
  return {
    description,
    async predict(faces, n, o = {}) {
      if (faces.length !== n * per)
        throw new Error(`native predict: got ${faces.length} values, expected ${n * per} (${n} x ${height} x ${width})`);
      const out = new Float32Array(n * k);
      for (let start = 0; start < n; start += net.batchSize) {
        const count = Math.min(net.batchSize, n - start);
        const src = faces.subarray(start * per, (start + count) * per);
        // The metadata's test-time views (tta.ts), each normalised into the one input buffer.
        const p = await averageViews(src, count, m.metadata.input, m.metadata.tta, async (view) => {
          for (let i = 0; i < view.length; i++) buf[i] = (view[i] - mean) / std;
          return (await net.forward(buf, count)).slice();
        });
        out.set(p, start * k);
        o.onProgress?.(start + count, n);
      }
      return out;
    },
  };
}

/**
 * Run a model's inference natively from now on (`predictProbabilities`, `evaluate` and the
 * realtime pipeline go through `m.runtime`). Returns the runtime, or throws when the native library
 * is missing or the model has a layer it cannot run; `dispose` frees the native copy.
 */
export function useNativeInference(
  m: EmotionModel,
  opts: { batchSize?: number; threads?: number } = {},
): InferenceRuntime & { dispose(): void } {
  const threads = opts.threads ?? defaultNativeThreads();
  const net = NativeNet.fromModel(m.model, { batchSize: opts.batchSize ?? 256, threads });
  const runtime = nativeRuntime(m, net, `native (${nativeStatus().version}, ${threads} thread${threads > 1 ? 's' : ''})`);
  m.runtime = runtime;
  return {
    ...runtime,
    dispose() {
      if (m.runtime === runtime) delete m.runtime;
      net.dispose();
    },
  };
}
