/** The CNN registry: each architecture is a named builder of a tf.LayersModel ending in softmax. */
import * as tf from '@tensorflow/tfjs';
import { PositionEmbedding, TransformerBlock } from './transformer.ts';

export interface BuildOptions {
  height: number;
  width: number;
  channels: number;
  numClasses: number;
  /** Seed for weight initialisers (deterministic builds). */
  seed?: number;
}

export interface Architecture {
  name: string;
  description: string;
  build(opts: BuildOptions): tf.LayersModel;
}

/**
 * `separable`: each conv is depthwise 3x3 → batch-norm → ReLU → pointwise 1x1 to `filters`
 * (MobileNet-style, about 1/8 of the multiply-adds of a full 3x3 conv at 64+ channels).
 */
type Block = { filters: number; convs: number; dropout?: number; separable?: boolean; pool?: false };

/**
 * VGG-style stack: per block `convs` x (conv3x3 → batch-norm → ReLU), then 2x2 max-pool (unless
 * `pool: false`) and optional dropout; global average pooling, optional hidden dense layer, dense softmax head.
 */
/** Transformer blocks over the last feature map's positions (a hybrid net), before pooling. */
type Attention = { blocks: number; heads: number; mlp: number };

function vggStyle(
  name: string,
  blocks: Block[],
  head: { hidden?: number; dropout: number; attention?: Attention },
  description: string,
): Architecture {
  return {
    name,
    description,
    build({ height, width, channels, numClasses, seed = 1 }) {
      // Dropout layers get no seed: tfjs would then reuse one mask for every batch. Their masks
      // come from Math.random, which the trainer seeds.
      let s = seed;
      const init = () => tf.initializers.heNormal({ seed: s++ });
      const input = tf.input({ shape: [height, width, channels], name: 'image' });
      let x: tf.SymbolicTensor = input;
      blocks.forEach((b, bi) => {
        for (let c = 0; c < b.convs; c++) {
          if (b.separable) {
            x = tf.layers
              .depthwiseConv2d({
                kernelSize: 3,
                padding: 'same',
                useBias: false,
                depthwiseInitializer: init(),
                name: `b${bi + 1}_dw${c + 1}`,
              })
              .apply(x) as tf.SymbolicTensor;
            x = tf.layers.batchNormalization({ momentum: 0.9, name: `b${bi + 1}_dwbn${c + 1}` }).apply(x) as tf.SymbolicTensor;
            x = tf.layers.reLU({ name: `b${bi + 1}_dwrelu${c + 1}` }).apply(x) as tf.SymbolicTensor;
          }
          x = tf.layers
            .conv2d({
              filters: b.filters,
              kernelSize: b.separable ? 1 : 3,
              padding: 'same',
              useBias: false,
              kernelInitializer: init(),
              name: `b${bi + 1}_conv${c + 1}`,
            })
            .apply(x) as tf.SymbolicTensor;
          x = tf.layers.batchNormalization({ momentum: 0.9, name: `b${bi + 1}_bn${c + 1}` }).apply(x) as tf.SymbolicTensor;
          x = tf.layers.reLU({ name: `b${bi + 1}_relu${c + 1}` }).apply(x) as tf.SymbolicTensor;
        }
        if (b.pool !== false) x = tf.layers.maxPooling2d({ poolSize: 2, name: `b${bi + 1}_pool` }).apply(x) as tf.SymbolicTensor;
        if (b.dropout) x = tf.layers.dropout({ rate: b.dropout, name: `b${bi + 1}_drop` }).apply(x) as tf.SymbolicTensor;
      });
      if (head.attention) {
        x = new PositionEmbedding({ name: 'pos_embedding', seed: s++ }).apply(x) as tf.SymbolicTensor;
        for (let i = 0; i < head.attention.blocks; i++)
          x = new TransformerBlock({
            name: `transformer${i + 1}`,
            heads: head.attention.heads,
            mlp: head.attention.mlp,
            seed: (s += 3),
          }).apply(x) as tf.SymbolicTensor;
      }
      x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
      if (head.hidden) {
        x = tf.layers.dense({ units: head.hidden, kernelInitializer: init(), name: 'fc' }).apply(x) as tf.SymbolicTensor;
        x = tf.layers.reLU({ name: 'fc_relu' }).apply(x) as tf.SymbolicTensor;
      }
      if (head.dropout) x = tf.layers.dropout({ rate: head.dropout, name: 'head_drop' }).apply(x) as tf.SymbolicTensor;
      const logits = tf.layers
        .dense({ units: numClasses, kernelInitializer: tf.initializers.glorotUniform({ seed: s++ }), name: 'logits' })
        .apply(x) as tf.SymbolicTensor;
      const probs = tf.layers.softmax({ name: 'probs' }).apply(logits) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: probs, name });
    },
  };
}

const ARCHS: Architecture[] = [
  vggStyle(
    'micro',
    [
      { filters: 16, convs: 1 },
      { filters: 32, convs: 1 },
      { filters: 64, convs: 1 },
    ],
    { dropout: 0.2 },
    'three conv blocks (16-32-64), ~24k parameters: for tests and smoke runs',
  ),
  vggStyle(
    'tiny',
    [
      { filters: 32, convs: 1 },
      { filters: 64, convs: 1, separable: true },
      { filters: 128, convs: 2, separable: true },
      { filters: 256, convs: 2, separable: true },
    ],
    { dropout: 0.3 },
    'MobileNet-style 32-64-128x2-256x2 with depthwise-separable convs, ~140k parameters: for the edge and the browser',
  ),
  vggStyle(
    'edge',
    [
      { filters: 24, convs: 1 },
      { filters: 64, convs: 1, separable: true },
      { filters: 128, convs: 2, separable: true },
      { filters: 256, convs: 2, separable: true },
      { filters: 384, convs: 1, separable: true, pool: false },
    ],
    { dropout: 0.3 },
    'tiny with a 24-filter stem and a fifth separable block (384) on the 3x3 map, ~242k parameters: the same wasm cost as tiny (about 1 ms per face) with 1.7x its parameters',
  ),
  vggStyle(
    'small',
    [
      { filters: 32, convs: 1 },
      { filters: 64, convs: 1 },
      { filters: 128, convs: 1 },
      { filters: 256, convs: 1 },
    ],
    { dropout: 0.3 },
    'four conv blocks (32-64-128-256), ~390k parameters: the CPU reference net',
  ),
  vggStyle(
    'hybrid',
    [
      { filters: 32, convs: 1 },
      { filters: 64, convs: 1 },
      { filters: 128, convs: 2 },
    ],
    { dropout: 0.3, attention: { blocks: 2, heads: 4, mlp: 256 } },
    'conv stem 32-64-128x2 to a 6x6 map, then a learned position embedding and 2 transformer blocks (4 heads, MLP 256) over its 36 positions, ~0.51M parameters: the transformer option',
  ),
  vggStyle(
    'medium',
    [
      { filters: 64, convs: 2 },
      { filters: 128, convs: 2 },
      { filters: 256, convs: 1 },
    ],
    { dropout: 0.3 },
    'VGG-style 64x2-128x2-256, ~0.6M parameters',
  ),
  vggStyle(
    'base',
    [
      { filters: 32, convs: 1 },
      { filters: 64, convs: 2 },
      { filters: 128, convs: 2 },
      { filters: 256, convs: 2 },
    ],
    { dropout: 0.4 },
    'VGG-style 32-64x2-128x2-256x2, ~1.17M parameters: the native-trained default (3x the FLOPs of small)',
  ),
  vggStyle(
    'wide',
    [
      { filters: 64, convs: 1 },
      { filters: 128, convs: 1 },
      { filters: 256, convs: 1 },
      { filters: 512, convs: 1 },
    ],
    { dropout: 0.4 },
    'four conv blocks (64-128-256-512), ~1.55M parameters: small at twice the width (4x its FLOPs)',
  ),
  vggStyle(
    'large',
    [
      { filters: 64, convs: 2, dropout: 0.1 },
      { filters: 128, convs: 2, dropout: 0.1 },
      { filters: 256, convs: 3, dropout: 0.2 },
      { filters: 512, convs: 3, dropout: 0.2 },
    ],
    { hidden: 256, dropout: 0.4 },
    'VGG-style 64x2-128x2-256x3-512x3 + dense 256, ~7.8M parameters: for GPU training',
  ),
];

/** Names of the registered architectures, in order of size. */
export const ARCHITECTURE_NAMES: readonly string[] = ARCHS.map((a) => a.name);

/** Look up an architecture; the error lists the valid names. */
export function getArchitecture(name: string): Architecture {
  const a = ARCHS.find((x) => x.name === name);
  if (!a) throw new Error(`unknown architecture "${name}" (choose one of: ${ARCHITECTURE_NAMES.join(', ')})`);
  return a;
}
