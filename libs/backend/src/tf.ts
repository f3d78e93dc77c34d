/**
 * tfjs as the toolkit uses it: core (with every gradient and chained op registered), layers, the
 * graph-model converter and the plain-JavaScript cpu backend. It is what the `@tensorflow/tfjs`
 * umbrella exports, less `tf.data` and the WebGL backend (loaded by `initBackend` when asked for),
 * and without the umbrella's prebuilt bundles and dependencies (about 160 MB installed). Every
 * library of the toolkit imports tfjs from here: `import * as tf from '@emodetect/backend/tf'`.
 */
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import '@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops';
import '@tensorflow/tfjs-backend-cpu';

export * from '@tensorflow/tfjs-core';
export * from '@tensorflow/tfjs-layers';
export * from '@tensorflow/tfjs-converter';
