import { describe, expect, it } from 'vitest';
import { accuracy, classificationReport, confusionMatrixSvg, reportMarkdown, trainingCurvesSvg } from './index.ts';

describe('classificationReport', () => {
  // true:      a a a b b c
  // predicted: a a b b c c
  const actual = [0, 0, 0, 1, 1, 2];
  const predicted = [0, 0, 1, 1, 2, 2];
  const r = classificationReport(actual, predicted, ['a', 'b', 'c']);

  it('computes accuracy, the confusion matrix and per-class metrics', () => {
    expect(r.n).toBe(6);
    expect(r.accuracy).toBeCloseTo(4 / 6);
    expect(r.confusionMatrix).toEqual([
      [2, 1, 0],
      [0, 1, 1],
      [0, 0, 1],
    ]);
    expect(r.perClass.a).toEqual({ precision: 1, recall: 2 / 3, f1: 0.8, support: 3 });
    expect(r.perClass.b.precision).toBeCloseTo(0.5);
    expect(r.perClass.b.recall).toBeCloseTo(0.5);
    expect(r.perClass.c).toEqual({ precision: 0.5, recall: 1, f1: 2 / 3, support: 1 });
    expect(r.macroF1).toBeCloseTo((0.8 + 0.5 + 2 / 3) / 3);
    expect(r.weightedF1).toBeCloseTo((0.8 * 3 + 0.5 * 2 + (2 / 3) * 1) / 6);
  });

  it('gives 0 (not NaN) for a class that is never predicted or never present', () => {
    const z = classificationReport([0, 0], [0, 0], ['x', 'y']);
    expect(z.perClass.y).toEqual({ precision: 0, recall: 0, f1: 0, support: 0 });
    expect(Number.isNaN(z.macroF1)).toBe(false);
  });

  it('rejects mismatched lengths and out-of-range classes', () => {
    expect(() => classificationReport([0], [0, 1], ['x', 'y'])).toThrow(/1 labels but 2 predictions/);
    expect(() => classificationReport([0], [2], ['x', 'y'])).toThrow(/out of range/);
    expect(accuracy([1, 2, 3], [1, 0, 3])).toBeCloseTo(2 / 3);
  });

  it('renders Markdown and a well-formed SVG', () => {
    const md = reportMarkdown(r, 'Test');
    expect(md).toContain('accuracy **66.7%**');
    expect(md).toContain('| a | 100.0 | 66.7 | 80.0 | 3 |');
    const svg = confusionMatrixSvg(r, { title: 'T <&>' });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('T &lt;&amp;&gt;');
    expect((svg.match(/<rect /g) ?? []).length).toBe(1 + 9);
  });
});

describe('trainingCurvesSvg', () => {
  it('draws one polyline per series and circles the best validation accuracy', () => {
    const h = [1, 2, 3].map((epoch) => ({
      epoch,
      trainLoss: 2 - epoch / 3,
      valLoss: 1.9 - epoch / 4,
      trainAccuracy: 0.2 * epoch,
      valAccuracy: [0.3, 0.5, 0.4][epoch - 1],
    }));
    const svg = trainingCurvesSvg(h, 'run');
    expect((svg.match(/<polyline /g) ?? []).length).toBe(4);
    expect(svg).toContain('best 50.0% (epoch 2)');
    expect(() => trainingCurvesSvg([])).toThrow(/no epochs/);
  });
});
