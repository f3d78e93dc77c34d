import { describe, expect, it } from 'vitest';
import { drawFaces, emotionColor, faceLabel, type Canvas2D, type FaceResult } from './index.ts';

/** A canvas double that records the calls drawFaces makes. */
function recorder() {
  const calls: { op: string; args: (number | string)[]; fill: unknown; stroke: unknown }[] = [];
  const ctx: Canvas2D = {
    fillStyle: '',
    strokeStyle: '',
    lineWidth: 1,
    font: '',
    textBaseline: '',
    fillRect: (...args) => calls.push({ op: 'fillRect', args, fill: ctx.fillStyle, stroke: ctx.strokeStyle }),
    strokeRect: (...args) => calls.push({ op: 'strokeRect', args, fill: ctx.fillStyle, stroke: ctx.strokeStyle }),
    fillText: (...args) => calls.push({ op: 'fillText', args, fill: ctx.fillStyle, stroke: ctx.strokeStyle }),
    measureText: (t) => ({ width: 8 * t.length }),
  };
  return { ctx, calls };
}

const face: FaceResult = {
  box: { x: 100, y: 50, width: 120, height: 120 },
  score: 0.9,
  keypoints: [],
  emotion: 'happy',
  probabilities: { angry: 0.03, happy: 0.87, sad: 0.1 },
  trackId: 3,
};

describe('drawFaces', () => {
  it('strokes the box in the emotion colour, labels it, and draws one bar per class', () => {
    const { ctx, calls } = recorder();
    drawFaces(ctx, [face]);
    const box = calls.find((c) => c.op === 'strokeRect')!;
    expect(box.args).toEqual([100, 50, 120, 120]);
    expect(box.stroke).toBe(emotionColor('happy'));
    expect(calls.find((c) => c.op === 'fillText')!.args[0]).toBe('#3 happy 87%');
    // Bars: a background and a fill per class, the fill's width proportional to the probability.
    const happyBar = calls.filter((c) => c.op === 'fillRect' && c.fill === emotionColor('happy'));
    expect(happyBar.at(-1)!.args[2]).toBeCloseTo(0.87 * 120);
    expect(calls.filter((c) => c.op === 'fillRect' && c.fill === 'rgba(30, 30, 30, 0.6)')).toHaveLength(3);
  });

  it('scales to the canvas and mirrors for a selfie view; bars can be turned off', () => {
    const { ctx, calls } = recorder();
    drawFaces(ctx, [face], { scale: 0.5, mirrorWidth: 320, bars: false });
    expect(calls.find((c) => c.op === 'strokeRect')!.args).toEqual([320 - (50 + 60), 25, 60, 60]);
    expect(calls.filter((c) => c.op === 'fillRect')).toHaveLength(1); // the label background only
  });

  it('labels untracked faces without an id', () => {
    expect(faceLabel({ ...face, trackId: undefined, probabilities: { happy: 0.5, sad: 0.5 }, emotion: 'sad' })).toBe('sad 50%');
  });
});
