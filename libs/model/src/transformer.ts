/**
 * Attention layers for the registry's hybrid (convolutions, then a transformer over the feature
 * map's positions), as tfjs custom layers registered for serialisation: a model folder that uses
 * them loads wherever this module is imported (`@emodetect/model` imports it).
 *
 * - `EmoPositionEmbedding`: adds a learned [height, width, channels] embedding to the feature map.
 * - `EmoTransformerBlock`: a pre-norm transformer encoder block over the H x W positions of a
 *   feature map, as tokens of C channels: x + MHSA(LN(x)), then + MLP(LN(·)) with a ReLU MLP.
 *   The map keeps its shape, [batch, H, W, C].
 *
 * The same arithmetic is implemented natively (libs/native/src/emonative.cpp, `tblock` and
 * `posemb`), and tested against this one.
 */
import * as tf from '@tensorflow/tfjs';

type Kwargs = { name?: string; trainable?: boolean; inputShape?: tf.Shape; batchInputShape?: tf.Shape; dtype?: tf.DataType };

export interface TransformerBlockArgs extends Kwargs {
  /** Attention heads; the channels must divide by it. */
  heads: number;
  /** Hidden units of the MLP. */
  mlp: number;
  /** Layer-norm epsilon (default 1e-5). */
  epsilon?: number;
  /** Seed of the kernels' initialisers. */
  seed?: number;
}

const shapeOf = (s: tf.Shape | tf.Shape[]): tf.Shape => (Array.isArray(s[0]) ? (s[0] as tf.Shape) : (s as tf.Shape));
const single = (x: tf.Tensor | tf.Tensor[]): tf.Tensor => (Array.isArray(x) ? x[0] : x);

/** Layer norm over the last axis: (x - mean) / sqrt(var + eps) · gamma + beta. */
function layerNorm(x: tf.Tensor, gamma: tf.Tensor, beta: tf.Tensor, eps: number): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, eps))), gamma), beta);
}

export class TransformerBlock extends tf.layers.Layer {
  static className = 'EmoTransformerBlock';
  readonly heads: number;
  readonly mlp: number;
  readonly epsilon: number;
  private readonly seed: number;
  private w: Record<string, tf.LayerVariable> = {};

  constructor(args: TransformerBlockArgs) {
    super(args);
    this.heads = args.heads;
    this.mlp = args.mlp;
    this.epsilon = args.epsilon ?? 1e-5;
    this.seed = args.seed ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const c = Number(shapeOf(inputShape)[3]);
    if (!(c > 0) || c % this.heads !== 0) throw new Error(`${this.name}: ${c} channels do not split into ${this.heads} heads`);
    let s = this.seed;
    const glorot = () => tf.initializers.glorotUniform({ seed: s++ });
    const add = (name: string, shape: number[], init: Parameters<tf.layers.Layer['addWeight']>[3]) =>
      (this.w[name] = this.addWeight(name, shape, 'float32', init));
    // The order of these weights is the native parameter order (see nativeSpec).
    add('ln1_gamma', [c], tf.initializers.ones());
    add('ln1_beta', [c], tf.initializers.zeros());
    add('qkv_kernel', [c, 3 * c], glorot());
    add('qkv_bias', [3 * c], tf.initializers.zeros());
    add('proj_kernel', [c, c], glorot());
    add('proj_bias', [c], tf.initializers.zeros());
    add('ln2_gamma', [c], tf.initializers.ones());
    add('ln2_beta', [c], tf.initializers.zeros());
    add('fc1_kernel', [c, this.mlp], glorot());
    add('fc1_bias', [this.mlp], tf.initializers.zeros());
    add('fc2_kernel', [this.mlp, c], glorot());
    add('fc2_bias', [c], tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x4 = single(inputs);
      const [n, hgt, wid, c] = x4.shape as number[];
      const t = hgt * wid;
      const h = this.heads;
      const d = c / h;
      const r = (k: string) => this.w[k].read();
      const x = tf.reshape(x4, [n, t, c]);
      const h1 = layerNorm(x, r('ln1_gamma'), r('ln1_beta'), this.epsilon);
      const qkv = tf.add(tf.matMul(tf.reshape(h1, [n * t, c]), r('qkv_kernel')), r('qkv_bias'));
      // [n, t, 3, h, d] → three [n, h, t, d]
      const split = tf.transpose(tf.reshape(qkv, [n, t, 3, h, d]), [2, 0, 3, 1, 4]);
      const [q, k, v] = tf.unstack(split, 0);
      const att = tf.softmax(tf.mul(tf.matMul(q, k, false, true), 1 / Math.sqrt(d)));
      const o = tf.reshape(tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]), [n * t, c]);
      const x2 = tf.add(x, tf.reshape(tf.add(tf.matMul(o, r('proj_kernel')), r('proj_bias')), [n, t, c]));
      const h2 = tf.reshape(layerNorm(x2, r('ln2_gamma'), r('ln2_beta'), this.epsilon), [n * t, c]);
      const u = tf.relu(tf.add(tf.matMul(h2, r('fc1_kernel')), r('fc1_bias')));
      const z = tf.add(tf.matMul(u, r('fc2_kernel')), r('fc2_bias'));
      return tf.reshape(tf.add(x2, tf.reshape(z, [n, t, c])), [n, hgt, wid, c]);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), heads: this.heads, mlp: this.mlp, epsilon: this.epsilon, seed: this.seed };
  }
}

export class PositionEmbedding extends tf.layers.Layer {
  static className = 'EmoPositionEmbedding';
  private readonly seed: number;
  private embedding: tf.LayerVariable | null = null;

  constructor(args: Kwargs & { seed?: number }) {
    super(args);
    this.seed = args.seed ?? 1;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const [, h, w, c] = shapeOf(inputShape).map(Number);
    this.embedding = this.addWeight('embedding', [h, w, c], 'float32', tf.initializers.truncatedNormal({ stddev: 0.02, seed: this.seed }));
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    return shapeOf(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => tf.add(single(inputs), this.embedding!.read()));
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}

tf.serialization.registerClass(TransformerBlock);
tf.serialization.registerClass(PositionEmbedding);
