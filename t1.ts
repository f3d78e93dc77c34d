import * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
await initNodeBackend({ backend: 'wasm' });
const cases = [[[2,7,9,3],[3,3,3,4],1,'same'],[[1,8,8,1],[3,3,1,5],2,'same'],[[3,9,7,2],[3,3,2,3],2,'valid'],[[2,6,6,3],[5,5,3,2],1,'valid'],[[2,5,5,3],[3,3,3,2],1,'same'],[[1,7,7,1],[2,2,1,2],1,'same'],[[2,8,8,3],[2,2,3,2],2,'same']] as const;
function run(xs:any, fs:any, s:number, p:any, data?: any[]) {
  return tf.tidy(() => {
    const x = data ? tf.tensor(data[0]) as tf.Tensor4D : tf.randomNormal(xs) as tf.Tensor4D;
    const w = data ? tf.tensor(data[1]) as tf.Tensor4D : tf.randomNormal(fs) as tf.Tensor4D;
    const dy = data ? tf.tensor(data[2]) as tf.Tensor4D : tf.randomNormal(tf.conv2d(x, w, s, p).shape) as tf.Tensor4D;
    const g = tf.grads((a: tf.Tensor4D, b: tf.Tensor4D) => tf.sum(tf.mul(tf.conv2d(a, b, s, p), dy)))([x, w]);
    return [x.arraySync(), w.arraySync(), dy.arraySync(), g[0].arraySync(), g[1].arraySync()];
  });
}
const res = cases.map(([xs, fs, s, p]) => { try { return run(xs, fs, s, p); } catch (e) { console.log(JSON.stringify(xs), String(e).slice(0,200), (e as any).stack?.split("\n").slice(1,12).join("\n")); process.exit(1); } });
await tf.setBackend('cpu');
cases.forEach(([xs, fs, s, p], i) => {
  const r = res[i]; const c = run(xs, fs, s, p, r);
  const diff = (a: any, b: any) => tf.max(tf.abs(tf.sub(tf.tensor(a), tf.tensor(b)))).dataSync()[0];
  console.log(JSON.stringify(xs), JSON.stringify(fs), s, p, 'dx', diff(r[3], c[3]), 'dW', diff(r[4], c[4]));
});
