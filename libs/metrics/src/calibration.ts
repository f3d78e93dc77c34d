/**
 * Calibration and class priors of a classifier's probabilities: expected calibration error, the
 * frequencies of the predicted classes, and a post-hoc prior correction (one weight per class,
 * multiplied into the probabilities, then renormalised) fitted on validation sets.
 */
import { classificationReport } from './index.ts';

/** Multiply each row of `probs` (n x k) by `weights` and renormalise it; returns a new array. */
export function applyClassWeights(probs: Float32Array, k: number, weights: readonly number[]): Float32Array {
  if (weights.length !== k) throw new Error(`applyClassWeights: ${weights.length} weights for ${k} classes`);
  const out = new Float32Array(probs.length);
  for (let i = 0; i < probs.length; i += k) {
    let sum = 0;
    for (let j = 0; j < k; j++) sum += out[i + j] = probs[i + j] * weights[j];
    if (sum > 0) for (let j = 0; j < k; j++) out[i + j] /= sum;
  }
  return out;
}

function argmaxRow(p: Float32Array, i: number, k: number): number {
  let best = 0;
  for (let j = 1; j < k; j++) if (p[i * k + j] > p[i * k + best]) best = j;
  return best;
}

/**
 * Expected calibration error: the confidence of the top class against its accuracy, averaged over
 * `bins` equal-width confidence bins, weighted by their share of the rows.
 */
export function expectedCalibrationError(probs: Float32Array, k: number, labels: ArrayLike<number>, bins = 10): number {
  const n = probs.length / k;
  const conf = new Float64Array(bins);
  const hits = new Float64Array(bins);
  const count = new Float64Array(bins);
  for (let i = 0; i < n; i++) {
    const top = argmaxRow(probs, i, k);
    const c = probs[i * k + top];
    const b = Math.min(bins - 1, Math.floor(c * bins));
    conf[b] += c;
    hits[b] += top === labels[i] ? 1 : 0;
    count[b]++;
  }
  let ece = 0;
  for (let b = 0; b < bins; b++) if (count[b]) ece += Math.abs(conf[b] - hits[b]) / Math.max(1, n);
  return ece;
}

/** How often each class is predicted (fractions summing to 1). */
export function predictedFrequencies(probs: Float32Array, k: number): number[] {
  const n = probs.length / k;
  const f = new Array<number>(k).fill(0);
  for (let i = 0; i < n; i++) f[argmaxRow(probs, i, k)] += 1 / n;
  return f;
}

/** A labelled set of predicted probabilities (n x k), e.g. one source's validation part. */
export interface ScoredSet {
  probs: Float32Array;
  labels: ArrayLike<number>;
}

/**
 * The objective a prior correction maximises: over the sets, the mean of (accuracy + macro F1) / 2,
 * so that the classes of a balanced set count as much as the frequent classes of an imbalanced one.
 */
export function priorObjective(sets: readonly ScoredSet[], k: number, weights: readonly number[]): number {
  let total = 0;
  const classes = Array.from({ length: k }, (_, i) => String(i));
  for (const s of sets) {
    const p = applyClassWeights(s.probs, k, weights);
    const n = p.length / k;
    const pred = Array.from({ length: n }, (_, i) => argmaxRow(p, i, k));
    const r = classificationReport(Array.from(s.labels), pred, classes);
    total += (r.accuracy + r.macroF1) / 2;
  }
  return total / sets.length;
}

/**
 * Fit one weight per class (log-weights on a grid of 0.05 in ±1.5, by coordinate ascent, three
 * passes) that maximises {@link priorObjective} on `sets`. Weights are scaled so that their
 * geometric mean is 1; all 1 when nothing helps.
 */
export function fitClassWeights(sets: readonly ScoredSet[], k: number): { weights: number[]; before: number; after: number } {
  const logW = new Array<number>(k).fill(0);
  const objective = () => priorObjective(sets, k, logW.map(Math.exp));
  const before = objective();
  let best = before;
  for (let pass = 0; pass < 3; pass++) {
    let moved = false;
    for (let c = 0; c < k; c++) {
      const keep = logW[c];
      let bestV = keep;
      for (let v = -1.5; v <= 1.5 + 1e-9; v += 0.05) {
        logW[c] = v;
        const o = objective();
        if (o > best + 1e-9) ((best = o), (bestV = v));
      }
      logW[c] = bestV;
      if (bestV !== keep) moved = true;
    }
    if (!moved) break;
  }
  const mean = logW.reduce((a, b) => a + b, 0) / k;
  return { weights: logW.map((v) => Math.exp(v - mean)), before, after: best };
}
