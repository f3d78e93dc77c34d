import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
await initNodeBackend({ backend: 'wasm' });
const x = tf.randomNormal([1,5,5,1]) as tf.Tensor4D, w = tf.randomNormal([3,3,1,2]) as tf.Tensor4D;
try {
const y = tf.conv2d(x, w, 1, 'same'); console.log('fwd ok', y.shape);
const gw = tf.grad((b: tf.Tensor4D) => tf.sum(tf.conv2d(x, b, 1, 'same')))(w); console.log('gw', gw.shape); gw.print();
const gx = tf.grad((a: tf.Tensor4D) => tf.sum(tf.conv2d(a, w, 1, 'same')))(x); console.log('gx', gx.shape);
} catch (e) { console.log((e as any).stack.split('\n').slice(0,30).join('\n')); }
