import { describe, expect, it } from 'vitest';
import { applyClassWeights, expectedCalibrationError, fitClassWeights, predictedFrequencies } from './index.ts';

/** n faces per class over k classes whose probabilities lean towards class `bias`. */
function biased(nPerClass: number, k: number, bias: number, seed = 1): { probs: Float32Array; labels: number[] } {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const labels: number[] = [];
  const probs = new Float32Array(nPerClass * k * k);
  for (let c = 0; c < k; c++)
    for (let i = 0; i < nPerClass; i++) {
      const row = labels.length;
      labels.push(c);
      let sum = 0;
      for (let j = 0; j < k; j++) sum += probs[row * k + j] = 0.2 + rnd() + (j === c ? 0.9 : 0) + (j === bias ? 1.0 : 0);
      for (let j = 0; j < k; j++) probs[row * k + j] /= sum;
    }
  return { probs, labels };
}

describe('prior correction', () => {
  it('applyClassWeights reweights and renormalises', () => {
    const p = applyClassWeights(Float32Array.from([0.5, 0.5, 0.2, 0.8]), 2, [3, 1]);
    expect(Array.from(p).map((v) => +v.toFixed(4))).toEqual([0.75, 0.25, 0.4286, 0.5714]);
  });
  it('fitClassWeights undoes a class that takes over, on a balanced set', () => {
    const set = biased(60, 4, 2);
    const before = predictedFrequencies(set.probs, 4);
    expect(before[2]).toBeGreaterThan(0.4);
    const fit = fitClassWeights([set], 4);
    expect(fit.after).toBeGreaterThan(fit.before + 0.1);
    expect(fit.weights[2]).toBeLessThan(Math.min(fit.weights[0], fit.weights[1], fit.weights[3]));
    const after = predictedFrequencies(applyClassWeights(set.probs, 4, fit.weights), 4);
    expect(after[2]).toBeLessThan(0.35);
  });
  it('ECE is 0 for a perfectly calibrated answer and large for an overconfident wrong one', () => {
    expect(expectedCalibrationError(Float32Array.from([1, 0, 0, 1]), 2, [0, 1])).toBeCloseTo(0, 6);
    expect(expectedCalibrationError(Float32Array.from([0.95, 0.05, 0.95, 0.05]), 2, [1, 1])).toBeCloseTo(0.95, 5);
  });
});
