import { describe, expect, it } from 'vitest';
import { drawFaces, emotionColor, faceLabel, layoutFaces, type Canvas2D, type FaceResult, type Mark } from './index.ts';

/** A canvas double that records the calls drawFaces makes. */
function recorder(width = 640, height = 480) {
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
    canvas: { width, height },
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

type Box = { x: number; y: number; width: number; height: number };
const inside = (r: Box, W: number, H: number) => r.x >= 0 && r.y >= 0 && r.x + r.width <= W + 1e-9 && r.y + r.height <= H + 1e-9;
const fills = (marks: Mark[]) => marks.filter((m): m is Extract<Mark, { kind: 'fill' }> => m.kind === 'fill');
const texts = (marks: Mark[]) => marks.filter((m): m is Extract<Mark, { kind: 'text' }> => m.kind === 'text').map((m) => m.text);

describe('layoutFaces', () => {
  it('names every class in a panel beside the box, with bars proportional to the probabilities', () => {
    const marks = layoutFaces([face], { width: 640, height: 480 });
    expect(marks[0]).toMatchObject({ kind: 'stroke', rect: face.box });
    expect(texts(marks)).toEqual(['#3 happy 87%', 'angry', '3%', 'happy', '87%', 'sad', '10%']);
    const panel = fills(marks)[1]!;
    expect(panel.rect.x).toBeGreaterThan(face.box.x + face.box.width); // right of the box
    const [track, bar] = fills(marks).slice(4, 6);
    expect(bar!.rect.width / track!.rect.width).toBeCloseTo(0.87);
  });

  it('keeps label and panel inside the image wherever the face is', () => {
    const W = 320;
    const H = 240;
    for (const box of [
      { x: 0, y: 0, width: 100, height: 100 },
      { x: 220, y: 140, width: 100, height: 100 }, // bottom-right corner: panel goes left
      { x: 10, y: 10, width: 300, height: 220 }, // fills the image: panel below or clamped
      { x: 150, y: 200, width: 40, height: 40 },
    ]) {
      const marks = layoutFaces([{ ...face, box }], { width: W, height: H });
      for (const m of fills(marks)) expect(inside(m.rect, W, H), JSON.stringify({ box, m })).toBe(true);
      expect(texts(marks)).toContain('sad'); // the panel is there
    }
    const right = layoutFaces([{ ...face, box: { x: 220, y: 140, width: 100, height: 100 } }], { width: W, height: H });
    expect(fills(right)[1]!.rect.x + fills(right)[1]!.rect.width).toBeLessThanOrEqual(220);
  });

  it('leaves the panel out when the image is too small for it, and on request', () => {
    const tiny = layoutFaces([{ ...face, box: { x: 2, y: 2, width: 40, height: 40 } }], { width: 44, height: 44 });
    expect(texts(tiny)).toEqual(['#3 happy 87%']);
    expect(texts(layoutFaces([face], { width: 640, height: 480, panel: false }))).toEqual(['#3 happy 87%']);
  });

  it('uses only the font sizes a painter has', () => {
    const marks = layoutFaces([face], { width: 640, height: 480, fontSizes: [8, 16, 32] });
    for (const m of marks) if (m.kind === 'text') expect([8, 16, 32]).toContain(m.size);
  });
});

describe('drawFaces', () => {
  it('strokes the box in the emotion colour, labels it, and paints the named panel', () => {
    const { ctx, calls } = recorder();
    drawFaces(ctx, [face]);
    const box = calls.find((c) => c.op === 'strokeRect')!;
    expect(box.args).toEqual([100, 50, 120, 120]);
    expect(box.stroke).toBe(emotionColor('happy'));
    expect(calls.filter((c) => c.op === 'fillText').map((c) => c.args[0])).toEqual([
      '#3 happy 87%',
      'angry',
      '3%',
      'happy',
      '87%',
      'sad',
      '10%',
    ]);
    expect(calls.find((c) => c.op === 'fillText')!.fill).toBe('#000');
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
