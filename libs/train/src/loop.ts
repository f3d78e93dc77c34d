/** The training loop: isomorphic; persistence and terminal output are injected as hooks. */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_AUGMENT, Rng, type AugmentConfig } from '@emodetect/augment';
import { accuracy } from '@emodetect/metrics';
import { argmaxRows, predictProbabilities, type EmotionModel, type InferenceRuntime } from '@emodetect/model';
import { classCounts, toUnitFloat, type ImageDataset } from '@emodetect/preprocess';
import { computeShard, evenRanges, type ShardRequest, type ShardResult, type ShardWorker } from './shard.ts';

/** A named tensor, as optimizers' getWeights/setWeights use (tfjs does not export the type). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** The optimizer's learning rate is protected in tfjs' typings but meant to be scheduled. */
type Schedulable = { learningRate: number };

export interface TrainConfig {
  epochs: number;
  batchSize: number;
  /** Peak learning rate of Adam. */
  learningRate: number;
  /** `cosine`: cosine decay to 1% after `warmupEpochs` of linear warm-up; `constant`. */
  schedule: 'cosine' | 'constant';
  warmupEpochs: number;
  /** Label smoothing for the cross-entropy (0 = off). */
  labelSmoothing: number;
  /** `balanced` weights each class by n / (k * count). */
  classWeights: 'none' | 'balanced';
  /** Stop after this many epochs without a better validation accuracy (0 = never). */
  patience: number;
  seed: number;
  augment: AugmentConfig;
  /**
   * Data-parallel shards per batch (1 = this thread only; more use worker threads in Node).
   * Part of the run's identity: the same seed and worker count give the same weights.
   */
  workers: number;
}

export const DEFAULT_TRAIN_CONFIG: TrainConfig = {
  epochs: 30,
  batchSize: 64,
  learningRate: 1e-3,
  schedule: 'cosine',
  warmupEpochs: 1,
  labelSmoothing: 0.1,
  classWeights: 'none',
  patience: 10,
  seed: 42,
  augment: DEFAULT_AUGMENT,
  workers: 1,
};

export interface EpochRecord {
  epoch: number;
  trainLoss: number;
  trainAccuracy: number;
  valAccuracy: number;
  valLoss: number;
  learningRate: number;
  seconds: number;
  imagesPerSecond: number;
  /** Validation accuracy per source, when the data has several (see {@link TrainData.valGroups}). */
  valBySource?: Record<string, number>;
}

/** What a checkpoint must restore besides the weights. */
export interface TrainState {
  /** Epochs completed. */
  epoch: number;
  rngState: number;
  /** The best selection score so far: validation accuracy, or its mean over sources when there are several. */
  bestValAccuracy: number;
  bestEpoch: number;
  history: EpochRecord[];
}

export interface BatchProgress {
  epoch: number;
  epochs: number;
  batch: number;
  batches: number;
  loss: number;
  accuracy: number;
  imagesPerSecond: number;
  /** Seconds left in the whole run, estimated from this epoch's pace. */
  etaSeconds: number;
}

export interface TrainHooks {
  onBatch?(p: BatchProgress): void;
  /**
   * Called after each epoch, with the model's variables up to date; `improved` when validation
   * accuracy is the best so far. Persist here: `optimizerWeights()` returns the optimizer's state
   * in tfjs Adam's named format, as fresh tensors that the caller disposes.
   */
  onEpochEnd?(record: EpochRecord, state: TrainState, improved: boolean, optimizerWeights: () => Promise<NamedTensor[]>): Promise<void>;
  /** Polled between batches; return true to stop early and cleanly (e.g. on SIGINT). */
  shouldStop?(): boolean;
}

export interface TrainData {
  data: ImageDataset;
  /** Training indices (repeats allowed: a face listed twice is drawn twice per epoch). */
  train: number[];
  val: number[];
  /**
   * Validation indices per source (each a part of `val`). With two or more, every epoch reports
   * each source's accuracy, and the best model is the one with the highest mean of them, so that
   * a small source counts as much as a large one.
   */
  valGroups?: { name: string; indices: number[] }[];
}

/** Per-source accuracies of a validation pass, and the score the run selects on. */
function sourceScores(
  groups: TrainData['valGroups'],
  val: readonly number[],
  ds: ImageDataset,
  predicted: Int32Array,
  overall: number,
): { score: number; bySource?: Record<string, number> } {
  if (!groups || groups.length < 2) return { score: overall };
  const position = new Map(val.map((j, i) => [j, i]));
  const bySource: Record<string, number> = {};
  for (const g of groups) {
    let hits = 0;
    let n = 0;
    for (const j of g.indices) {
      const i = position.get(j);
      if (i === undefined) continue;
      n++;
      if (predicted[i] === ds.labels[j]) hits++;
    }
    bySource[g.name] = n ? hits / n : 0;
  }
  const values = Object.values(bySource);
  return { score: values.reduce((a, b) => a + b, 0) / values.length, bySource };
}

/**
 * Runs the optimisation steps somewhere other than tfjs (the native backend): the loop, the data,
 * the schedule, validation and checkpoints stay the same. The engine holds its own copy of the
 * weights and of Adam's state, loaded when it was made.
 */
export interface StepEngine {
  /** One line for logs, e.g. "native (oneDNN 2.6.3, 2 threads)". */
  readonly description: string;
  /** One Adam step on a whole batch (raw 0..1 pixels: the engine augments them as `req` says). */
  step(req: ShardRequest, learningRate: number): Promise<Omit<ShardResult, 'grads'>>;
  /** Write the engine's weights and batch-norm statistics into the tfjs model. */
  syncToModel(): void;
  /** Adam's state in tfjs' named format (`iter`, `<variable>/m`, `<variable>/v`), as fresh tensors. */
  optimizerWeights(): NamedTensor[];
  /** Inference on the engine's current weights (validation runs through it while training). */
  runtime: InferenceRuntime;
  dispose(): void;
}

export interface TrainResult {
  state: TrainState;
  stoppedEarly: boolean;
  interrupted: boolean;
}

/** tfjs Adam's private bias-correction products. */
type AdamInternals = { accBeta1: tf.Variable; accBeta2: tf.Variable; beta1: number; beta2: number; iterations_: number };

/**
 * Restore a tfjs Adam from its saved weights exactly. `setWeights` rebuilds the running products
 * beta^(t+1) with one `pow`, which rounds differently in float32 from the product the optimizer
 * kept step by step (one multiplication per step); redo those multiplications, as Adam did.
 */
export async function restoreAdam(optimizer: tf.AdamOptimizer, weights: NamedTensor[]): Promise<void> {
  await optimizer.setWeights(weights);
  const o = optimizer as unknown as AdamInternals;
  const product = (beta: number) => {
    const b = Math.fround(beta);
    let acc = b;
    for (let i = 0; i < o.iterations_; i++) acc = Math.fround(acc * b);
    return acc;
  };
  tf.tidy(() => {
    o.accBeta1.assign(tf.scalar(product(o.beta1)));
    o.accBeta2.assign(tf.scalar(product(o.beta2)));
  });
}

/** Learning rate at a (fractional) epoch. */
export function learningRateAt(cfg: TrainConfig, epoch: number): number {
  if (cfg.schedule === 'constant') return cfg.learningRate;
  if (epoch < cfg.warmupEpochs) return cfg.learningRate * Math.max(0.05, epoch / cfg.warmupEpochs);
  const t = (epoch - cfg.warmupEpochs) / Math.max(1e-9, cfg.epochs - cfg.warmupEpochs);
  const floor = 0.01;
  return cfg.learningRate * (floor + (1 - floor) * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, t))));
}

/** Fill a float batch (0..1) from dataset images at `idx`. */
export function gatherImages(ds: ImageDataset, idx: ArrayLike<number>, out?: Float32Array): Float32Array {
  const per = ds.width * ds.height;
  const dst = out ?? new Float32Array(idx.length * per);
  for (let i = 0; i < idx.length; i++) toUnitFloat(ds.pixels.subarray(idx[i] * per, (idx[i] + 1) * per), dst, i * per);
  return dst;
}

function targets(ds: ImageDataset, idx: ArrayLike<number>, smoothing: number): Float32Array {
  const k = ds.classNames.length;
  const y = new Float32Array(idx.length * k);
  for (let i = 0; i < idx.length; i++) {
    const j = idx[i];
    if (ds.softLabels) y.set(ds.softLabels.subarray(j * k, (j + 1) * k), i * k);
    else y[i * k + ds.labels[j]] = 1;
  }
  if (smoothing > 0) for (let i = 0; i < y.length; i++) y[i] = y[i] * (1 - smoothing) + smoothing / k;
  return y;
}

/** The request for one shard of a batch: pixels, targets, loss weights and its two seeds. */
function shardRequest(
  ds: ImageDataset,
  part: Int32Array,
  cfg: TrainConfig,
  classWeight: number[],
  rng: Rng,
  pixels?: Float32Array,
): ShardRequest {
  const per = ds.width * ds.height;
  return {
    n: part.length,
    height: ds.height,
    width: ds.width,
    classes: ds.classNames.length,
    pixels: gatherImages(ds, part, pixels?.subarray(0, part.length * per) ?? new Float32Array(part.length * per)),
    targets: targets(ds, part, cfg.labelSmoothing),
    sampleWeights: Float32Array.from(part, (j) => classWeight[ds.labels[j]]),
    augment: cfg.augment,
    augmentSeed: rng.int(2 ** 31),
    randomSeed: rng.int(2 ** 31),
  };
}

/**
 * One optimisation step on the images `idx`, split into 1 + workers.length shards computed in
 * parallel (shard 0 on this thread). Gradients are summed over shards and divided by the total
 * loss weight, which equals the gradient of the weighted mean loss over the whole batch. Batch-norm
 * statistics of the model come from shard 0.
 */
async function parallelStep(
  m: EmotionModel,
  optimizer: tf.Optimizer,
  ds: ImageDataset,
  idx: Int32Array,
  cfg: TrainConfig,
  classWeight: number[],
  rng: Rng,
  workers: ShardWorker[],
): Promise<{ lossValue: number; hitValue: number }> {
  const ranges = evenRanges(idx.length, workers.length + 1);
  const requests = ranges.map(([a, b]) => shardRequest(ds, idx.subarray(a, b), cfg, classWeight, rng));
  // Each worker gets its own copy of the weights: posting transfers (and detaches) the buffers.
  const weightsFor = () => m.model.getWeights().map((t) => t.dataSync().slice() as Float32Array);
  const remote = requests.slice(1).map((r, i) => workers[i].run(r, weightsFor()));
  const results = [computeShard(m.model, requests[0]), ...(await Promise.all(remote))];
  const weightSum = results.reduce((a, r) => a + r.weightSum, 0);
  const named: tf.NamedTensorMap = {};
  m.model.trainableWeights.forEach((w, i) => {
    const sum = new Float32Array(results[0].grads[i].length);
    for (const r of results) for (let j = 0; j < sum.length; j++) sum[j] += r.grads[i][j];
    for (let j = 0; j < sum.length; j++) sum[j] /= weightSum;
    const v = w.read() as tf.Variable;
    named[v.name] = tf.tensor(sum, v.shape);
  });
  optimizer.applyGradients(named);
  tf.dispose(Object.values(named));
  return {
    lossValue: results.reduce((a, r) => a + r.lossSum, 0) / weightSum,
    hitValue: results.reduce((a, r) => a + r.hits, 0),
  };
}

/** Mean cross-entropy and accuracy of the model on `idx` (no augmentation; the model's TTA). */
export async function validate(
  m: EmotionModel,
  ds: ImageDataset,
  idx: number[],
  onProgress?: (done: number, total: number) => void,
): Promise<{ loss: number; accuracy: number; predicted: Int32Array }> {
  const k = ds.classNames.length;
  const probs = await predictProbabilities(m, gatherImages(ds, idx), idx.length, { onProgress });
  const predicted = argmaxRows(probs, k);
  let loss = 0;
  idx.forEach((j, i) => (loss -= Math.log(Math.max(1e-7, probs[i * k + ds.labels[j]]))));
  const actual = idx.map((j) => ds.labels[j]);
  return { loss: loss / Math.max(1, idx.length), accuracy: accuracy(actual, predicted), predicted };
}

/**
 * Train `m.model` in place with Adam on categorical cross-entropy. Resumes from `resume` (state and
 * optimizer weights of a checkpoint) when given. Steps run in tfjs (split across `workers`), or in
 * `engine` when one is given (which then holds the optimizer state: make it from the same
 * checkpoint). Returns the final state; persistence is up to the hooks.
 */
export async function trainModel(
  m: EmotionModel,
  d: TrainData,
  cfg: TrainConfig,
  hooks: TrainHooks = {},
  resume?: { state: TrainState; optimizerWeights?: NamedTensor[] },
  workers: ShardWorker[] = [],
  engine?: StepEngine,
): Promise<TrainResult> {
  const { data: ds } = d;
  if (d.train.length === 0) throw new Error('no training images');
  if (d.val.length === 0) throw new Error('no validation images');
  const k = ds.classNames.length;
  const state: TrainState = resume
    ? structuredClone(resume.state)
    : { epoch: 0, rngState: new Rng(cfg.seed).getState(), bestValAccuracy: -1, bestEpoch: 0, history: [] };
  const rng = new Rng(0);
  rng.setState(state.rngState);
  const optimizer = engine ? null : tf.train.adam(learningRateAt(cfg, state.epoch));
  if (optimizer && resume?.optimizerWeights) await restoreAdam(optimizer, resume.optimizerWeights);
  let learningRate = learningRateAt(cfg, state.epoch);
  const optimizerWeights = async (): Promise<NamedTensor[]> => {
    if (engine) return engine.optimizerWeights();
    // Copies: the optimizer keeps its own variables ('iter' is a fresh scalar already).
    return (await optimizer!.getWeights()).map((w) => ({ name: w.name, tensor: w.name === 'iter' ? w.tensor : w.tensor.clone() }));
  };
  const tfjsRuntime = m.runtime;
  if (engine) m.runtime = engine.runtime;
  // The engine reads each batch before the next is made: one buffer serves every batch (a fresh
  // 0.6 MB array per step cost about 140 page faults).
  const batchPixels = engine ? new Float32Array(cfg.batchSize * ds.width * ds.height) : undefined;

  const counts = classCounts(ds, d.train);
  const classWeight = counts.map((c) => (cfg.classWeights === 'balanced' && c > 0 ? d.train.length / (k * c) : 1));
  const order = Int32Array.from(d.train);
  const batches = Math.ceil(order.length / cfg.batchSize);
  let stoppedEarly = false;
  let interrupted = false;

  try {
    await (async () => {
      for (let epoch = state.epoch; epoch < cfg.epochs; epoch++) {
        // Each epoch's order depends only on the rng state, so a resumed run sees the same batches.
        order.set(d.train);
        rng.shuffle(order);
        const t0 = performance.now();
        let lossSum = 0;
        let correct = 0;
        let seen = 0;
        for (let b = 0; b < batches; b++) {
          if (hooks.shouldStop?.()) {
            interrupted = true;
            return;
          }
          learningRate = learningRateAt(cfg, epoch + b / batches);
          const idx = order.subarray(b * cfg.batchSize, Math.min(order.length, (b + 1) * cfg.batchSize));
          const n = idx.length;
          let lossValue: number;
          let hitValue: number;
          if (engine) {
            const r = await engine.step(shardRequest(ds, idx, cfg, classWeight, rng, batchPixels), learningRate);
            lossValue = r.lossSum / r.weightSum;
            hitValue = r.hits;
          } else {
            (optimizer as unknown as Schedulable).learningRate = learningRate;
            ({ lossValue, hitValue } = await parallelStep(m, optimizer!, ds, idx, cfg, classWeight, rng, workers));
          }
          if (!Number.isFinite(lossValue))
            throw new Error(`training diverged (loss ${lossValue}) at epoch ${epoch + 1}, batch ${b + 1}; try a lower --lr`);
          lossSum += lossValue * n;
          correct += hitValue;
          seen += n;
          const secs = (performance.now() - t0) / 1000;
          const ips = seen / secs;
          const remaining = (batches - b - 1) * cfg.batchSize + (cfg.epochs - epoch - 1) * order.length;
          hooks.onBatch?.({
            epoch: epoch + 1,
            epochs: cfg.epochs,
            batch: b + 1,
            batches,
            loss: lossSum / seen,
            accuracy: correct / seen,
            imagesPerSecond: ips,
            etaSeconds: remaining / ips,
          });
        }
        const trainSeconds = (performance.now() - t0) / 1000;
        engine?.syncToModel();
        const v = await validate(m, ds, d.val);
        const scores = sourceScores(d.valGroups, d.val, ds, v.predicted, v.accuracy);
        const record: EpochRecord = {
          epoch: epoch + 1,
          trainLoss: lossSum / seen,
          trainAccuracy: correct / seen,
          valAccuracy: v.accuracy,
          valLoss: v.loss,
          learningRate,
          seconds: (performance.now() - t0) / 1000,
          imagesPerSecond: seen / trainSeconds,
          ...(scores.bySource ? { valBySource: scores.bySource } : {}),
        };
        const improved = scores.score > state.bestValAccuracy;
        if (improved) {
          state.bestValAccuracy = scores.score;
          state.bestEpoch = epoch + 1;
        }
        state.epoch = epoch + 1;
        state.rngState = rng.getState();
        state.history.push(record);
        await hooks.onEpochEnd?.(record, state, improved, optimizerWeights);
        // Whatever the hook drew from Math.random, continue exactly as a resumed run would.
        rng.setState(state.rngState);
        if (cfg.patience > 0 && state.epoch - state.bestEpoch >= cfg.patience) {
          stoppedEarly = true;
          return;
        }
      }
    })();
  } finally {
    optimizer?.dispose();
    if (engine) {
      engine.syncToModel();
      m.runtime = tfjsRuntime;
    }
  }
  return { state, stoppedEarly, interrupted };
}
