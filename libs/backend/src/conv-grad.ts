/**
 * Convolution gradients expressed as *forward* convolutions, so that a backend with a fast
 * forward `Conv2D` (wasm: XNNPACK) trains at close to forward-pass speed.
 *
 * filter gradient, for stride s (any padding):
 *   dW[kh,kw,ci,co] = sum_{b,oy,ox} xPad[b, oy*s+kh, ox*s+kw, ci] * dy[b,oy,ox,co]
 * is a stride-1, dilation-s, valid convolution of
 *   input  I = transpose(xPad, [3,1,2,0])  -> [Ci, Hp, Wp, B]   (channels become the batch)
 *   filter F = transpose(dy,   [1,2,0,3])  -> [OH, OW, B, Co]
 * whose output [Ci, KH', KW', Co] is cropped to [Ci, KH, KW, Co] and transposed back.
 *
 * input gradient, stride 1 only:
 *   dx = conv2d(dy, rot180(W) with in/out channels swapped), explicitly padded.
 */
import * as tf from '@tensorflow/tfjs';

export interface ConvGradGeometry {
  batch: number;
  inHeight: number;
  inWidth: number;
  inChannels: number;
  outHeight: number;
  outWidth: number;
  outChannels: number;
  filterHeight: number;
  filterWidth: number;
  strideHeight: number;
  strideWidth: number;
  padTop: number;
  padLeft: number;
}

/** Geometry of a 2-D NHWC convolution as tfjs computes it (same rounding, same padding). */
export function convGeometry(
  xShape: [number, number, number, number],
  filterShape: [number, number, number, number],
  strides: number | [number, number],
  pad: tf.backend_util.ExplicitPadding | 'valid' | 'same' | number,
  dimRoundingMode?: 'floor' | 'round' | 'ceil',
): ConvGradGeometry {
  const info = tf.backend_util.computeConv2DInfo(xShape, filterShape, strides, 1, pad, dimRoundingMode);
  return {
    batch: info.batchSize,
    inHeight: info.inHeight,
    inWidth: info.inWidth,
    inChannels: info.inChannels,
    outHeight: info.outHeight,
    outWidth: info.outWidth,
    outChannels: info.outChannels,
    filterHeight: info.filterHeight,
    filterWidth: info.filterWidth,
    strideHeight: info.strideHeight,
    strideWidth: info.strideWidth,
    padTop: info.padInfo.top,
    padLeft: info.padInfo.left,
  };
}

/** dW of a conv2d (NHWC), computed with one forward convolution. */
export function conv2dBackpropFilterViaConv(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGradGeometry): tf.Tensor4D {
  return tf.tidy(() => {
    const needH = (g.outHeight - 1) * g.strideHeight + g.filterHeight;
    const needW = (g.outWidth - 1) * g.strideWidth + g.filterWidth;
    // Pad (or crop) x so that exactly the rows/cols the forward pass touched are present.
    const padBottom = needH - g.padTop - g.inHeight;
    const padRight = needW - g.padLeft - g.inWidth;
    let xp: tf.Tensor4D = x;
    if (padBottom < 0 || padRight < 0) {
      xp = tf.slice(xp, [0, 0, 0, 0], [-1, g.inHeight + Math.min(0, padBottom), g.inWidth + Math.min(0, padRight), -1]);
    }
    const input = tf.transpose(xp, [3, 1, 2, 0]); // [Ci, H, W, B]
    const filter = tf.transpose(dy, [1, 2, 0, 3]); // [OH, OW, B, Co]
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [g.padTop, Math.max(0, padBottom)],
      [g.padLeft, Math.max(0, padRight)],
      [0, 0],
    ];
    const out = tf.conv2d(input, filter, 1, explicit, 'NHWC', [g.strideHeight, g.strideWidth]); // [Ci, KH, KW, Co]
    return tf.transpose(out, [1, 2, 0, 3]) as tf.Tensor4D;
  });
}

/** dx of a stride-1 conv2d (NHWC), computed with one forward convolution. */
export function conv2dBackpropInputViaConv(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGradGeometry): tf.Tensor4D {
  if (g.strideHeight !== 1 || g.strideWidth !== 1) {
    throw new Error('conv2dBackpropInputViaConv: only stride 1 is supported');
  }
  return tf.tidy(() => {
    // W'[p,q,co,ci] = W[KH-1-p, KW-1-q, ci, co]
    const flipped = tf.reverse(filter, [0, 1]);
    const w = tf.transpose(flipped, [0, 1, 3, 2]);
    const top = g.filterHeight - 1 - g.padTop;
    const left = g.filterWidth - 1 - g.padLeft;
    const bottom = g.inHeight - g.outHeight + g.padTop;
    const right = g.inWidth - g.outWidth + g.padLeft;
    let d: tf.Tensor4D = dy;
    // Negative pads mean rows of dy that no input pixel reached: crop them.
    const cropTop = Math.max(0, -top);
    const cropLeft = Math.max(0, -left);
    const cropBottom = Math.max(0, -bottom);
    const cropRight = Math.max(0, -right);
    if (cropTop || cropLeft || cropBottom || cropRight) {
      d = tf.slice(d, [0, cropTop, cropLeft, 0], [-1, g.outHeight - cropTop - cropBottom, g.outWidth - cropLeft - cropRight, -1]);
    }
    const explicit: tf.backend_util.ExplicitPadding = [
      [0, 0],
      [Math.max(0, top), Math.max(0, bottom)],
      [Math.max(0, left), Math.max(0, right)],
      [0, 0],
    ];
    return tf.conv2d(d, w as tf.Tensor4D, 1, explicit);
  });
}
