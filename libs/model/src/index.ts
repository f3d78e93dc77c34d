/**
 * @emodetect/model: the CNN registry, the model folder contract (model.json + weights.bin +
 * metadata.json) and inference on already-preprocessed faces. Isomorphic; file-system save/load
 * lives in `@emodetect/model/node`.
 */
import * as tf from '@tensorflow/tfjs';
import { DEFAULT_INPUT, EMOTIONS, METADATA_FORMAT, validateMetadata, type ModelMetadata, type TtaPolicy } from './metadata.ts';
import { renderView, ttaViews } from './tta.ts';
import { getArchitecture } from './architectures.ts';
import { DEFAULT_CROP, type InputConfig } from '@emodetect/preprocess';

export * from './metadata.ts';
export * from './architectures.ts';
export * from './quantize.ts';
export { useFoldedInference } from './folded.ts';
export { PositionEmbedding, TransformerBlock, type TransformerBlockArgs } from './transformer.ts';

/** A loaded or freshly built classifier: the tfjs model and the metadata that governs its input. */
export interface EmotionModel {
  model: tf.LayersModel;
  metadata: ModelMetadata;
  /**
   * Another executor of the same weights (e.g. the native one from `@emodetect/native`), used by
   * {@link predictProbabilities} instead of tfjs when set. It applies the metadata's normalisation
   * and TTA itself.
   */
  runtime?: InferenceRuntime;
}

/** Runs a model's inference outside tfjs: class probabilities [n, classes] for 0..1 faces. */
export interface InferenceRuntime {
  /** One line for logs, e.g. "native (oneDNN 2.6.3, 2 threads)". */
  readonly description: string;
  predict(faces: Float32Array, n: number, opts?: PredictOptions): Promise<Float32Array>;
}

export interface CreateModelOptions {
  arch: string;
  labels?: readonly string[];
  input?: Partial<InputConfig>;
  tta?: TtaPolicy;
  seed?: number;
  name?: string;
}

/** Build a fresh, untrained model from the registry, with its metadata. */
export function createModel(opts: CreateModelOptions): EmotionModel {
  const input: InputConfig = { ...DEFAULT_INPUT, ...opts.input };
  const labels = [...(opts.labels ?? EMOTIONS)];
  const model = getArchitecture(opts.arch).build({
    height: input.height,
    width: input.width,
    channels: input.channels,
    numClasses: labels.length,
    seed: opts.seed,
  });
  return {
    model,
    metadata: {
      format: METADATA_FORMAT,
      name: opts.name ?? `fer-${opts.arch}`,
      arch: opts.arch,
      parameters: model.countParams(),
      input,
      labels,
      tta: opts.tta ?? 'none',
      crop: { ...DEFAULT_CROP },
    },
  };
}

/**
 * Turn 0..1 grayscale faces (n x height x width, row-major, already resized to the model's input)
 * into the model's input tensor, applying the metadata's normalisation.
 */
function toInputTensor(faces: Float32Array, n: number, input: InputConfig): tf.Tensor4D {
  const expected = n * input.height * input.width * input.channels;
  if (faces.length !== expected) {
    throw new Error(`toInputTensor: got ${faces.length} values, expected ${expected} (${n} x ${input.height} x ${input.width})`);
  }
  return tf.tidy(() => {
    const t = tf.tensor4d(faces, [n, input.height, input.width, input.channels]);
    return input.mean === 0 && input.std === 1 ? t : tf.div(tf.sub(t, input.mean), input.std);
  });
}

/**
 * Class probabilities [n, classes] for an input tensor, with the model's declared TTA when it is
 * `none` or `flip` (`views` needs the faces' pixels: use {@link predictProbabilities}).
 */
function predictTensor(m: EmotionModel, x: tf.Tensor4D): tf.Tensor2D {
  if (m.metadata.tta === 'views') throw new Error('predictTensor: the "views" TTA works on pixels; use predictProbabilities');
  return tf.tidy(() => {
    const p = m.model.predict(x) as tf.Tensor2D;
    if (m.metadata.tta === 'flip') {
      const pf = m.model.predict(tf.reverse(x, 2)) as tf.Tensor2D;
      return tf.div(tf.add(p, pf), 2) as tf.Tensor2D;
    }
    return p;
  });
}

/**
 * Average `run`'s probabilities over the views of `policy` for a batch of n faces: each view is
 * rendered into one reused buffer and passed to `run` (which must not keep it).
 */
export async function averageViews(
  faces: Float32Array,
  n: number,
  input: InputConfig,
  policy: TtaPolicy,
  run: (view: Float32Array) => Promise<Float32Array>,
): Promise<Float32Array> {
  const views = ttaViews(policy);
  if (views.length === 1) return run(faces);
  const buf = new Float32Array(faces.length);
  let sum: Float32Array | null = null;
  for (const v of views) {
    renderView(faces, buf, n, input.height, input.width, input.channels, v);
    const p = await run(buf);
    if (!sum) sum = Float32Array.from(p);
    else for (let i = 0; i < p.length; i++) sum[i] += p[i];
  }
  for (let i = 0; i < sum!.length; i++) sum![i] /= views.length;
  return sum!;
}

export interface PredictOptions {
  /** Faces per forward pass (default 256). */
  batchSize?: number;
  /** Called after each batch with the number of faces done. */
  onProgress?: (done: number, total: number) => void;
}

/**
 * Class probabilities for n preprocessed faces, in batches; row i is face i. The model's prior
 * correction (`metadata.priorCorrection`), when it has one, is applied here, for every runtime.
 */
export async function predictProbabilities(
  m: EmotionModel,
  faces: Float32Array,
  n: number,
  opts: PredictOptions = {},
): Promise<Float32Array> {
  const w = m.metadata.priorCorrection?.weights;
  if (!w) return predictRaw(m, faces, n, opts);
  const p = (await predictRaw(m, faces, n, opts)).slice();
  // The model's own prior correction, on every runtime.
  const k = w.length;
  for (let i = 0; i < p.length; i += k) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += p[i + j] *= w[j];
    if (sum > 0) for (let j = 0; j < k; j++) p[i + j] /= sum;
  }
  return p;
}

async function predictRaw(
  m: EmotionModel,
  faces: Float32Array,
  n: number,
  { batchSize = 256, onProgress }: PredictOptions,
): Promise<Float32Array> {
  if (m.runtime) return m.runtime.predict(faces, n, { batchSize, onProgress });
  const { height, width, channels } = m.metadata.input;
  const per = height * width * channels;
  const k = m.metadata.labels.length;
  const out = new Float32Array(n * k);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const batch = faces.subarray(start * per, (start + count) * per);
    if (m.metadata.tta === 'views') {
      const p = await averageViews(batch, count, m.metadata.input, 'views', async (view) => {
        const y = tf.tidy(() => m.model.predict(toInputTensor(view, count, m.metadata.input)) as tf.Tensor2D);
        const d = (await y.data()) as Float32Array;
        y.dispose();
        return d;
      });
      out.set(p, start * k);
    } else {
      const x = toInputTensor(batch, count, m.metadata.input);
      const p = predictTensor(m, x);
      out.set(await p.data(), start * k);
      x.dispose();
      p.dispose();
    }
    onProgress?.(start + count, n);
  }
  return out;
}

/** Index of the largest value in each row of a row-major [n, k] matrix. */
export function argmaxRows(probs: Float32Array, k: number): Int32Array {
  const n = probs.length / k;
  const out = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    let best = 0;
    for (let j = 1; j < k; j++) if (probs[i * k + j] > probs[i * k + best]) best = j;
    out[i] = best;
  }
  return out;
}

/** Load a model folder served over HTTP(S) (browser or Node): `<url>/model.json`, `<url>/metadata.json`. */
export async function loadModelFromUrl(url: string): Promise<EmotionModel> {
  const base = url.replace(/\/+$/, '').replace(/\/model\.json$/, '');
  const res = await fetch(`${base}/metadata.json`);
  if (!res.ok) throw new Error(`${base}/metadata.json: HTTP ${res.status}`);
  const metadata = validateMetadata(await res.json(), `${base}/metadata.json`);
  const model = await tf.loadLayersModel(`${base}/model.json`);
  return { model, metadata };
}
