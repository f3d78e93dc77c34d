/**
 * @emodetect/metrics: classification metrics as pure functions over labels and predictions
 * (no tfjs): accuracy, confusion matrix (ml-confusion-matrix), per-class precision / recall / F1 /
 * support, macro and weighted averages; rendered as JSON, a Markdown table and an SVG picture.
 */
import { ConfusionMatrix } from 'ml-confusion-matrix';

export { confusionMatrixSvg, type SvgOptions } from './svg.ts';
export { trainingCurvesSvg, type CurvePoint } from './curves.ts';

export type { ClassMetrics, ClassificationReport } from './types.ts';
import type { ClassMetrics, ClassificationReport } from './types.ts';

/**
 * Build the report from true and predicted class indices (0..labels.length-1).
 * Precision of a class never predicted, and recall of a class absent from `actual`, are 0.
 */
export function classificationReport(
  actual: ArrayLike<number>,
  predicted: ArrayLike<number>,
  labels: readonly string[],
): ClassificationReport {
  if (actual.length !== predicted.length) {
    throw new Error(`classificationReport: ${actual.length} labels but ${predicted.length} predictions`);
  }
  const k = labels.length;
  const idx = Array.from({ length: k }, (_, i) => i);
  for (const a of [actual, predicted]) {
    for (let i = 0; i < a.length; i++) {
      if (!Number.isInteger(a[i]) || a[i] < 0 || a[i] >= k)
        throw new Error(`classificationReport: class index ${a[i]} out of range 0..${k - 1}`);
    }
  }
  const cm = ConfusionMatrix.fromLabels(Array.from(actual), Array.from(predicted), { labels: idx });
  const matrix = cm.getMatrix();
  const n = actual.length;
  const perClass: Record<string, ClassMetrics> = {};
  let macroP = 0;
  let macroR = 0;
  let macroF = 0;
  let wP = 0;
  let wR = 0;
  let wF = 0;
  idx.forEach((c) => {
    const tp = cm.getTruePositiveCount(c);
    const support = cm.getPositiveCount(c);
    const predictedCount = tp + cm.getFalsePositiveCount(c);
    const precision = predictedCount ? tp / predictedCount : 0;
    const recall = support ? tp / support : 0;
    const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
    perClass[labels[c]] = { precision, recall, f1, support };
    macroP += precision / k;
    macroR += recall / k;
    macroF += f1 / k;
    if (n) {
      wP += (precision * support) / n;
      wR += (recall * support) / n;
      wF += (f1 * support) / n;
    }
  });
  return {
    n,
    accuracy: n ? cm.getTrueCount() / n : 0,
    macroF1: macroF,
    weightedF1: wF,
    macro: { precision: macroP, recall: macroR, f1: macroF },
    weighted: { precision: wP, recall: wR, f1: wF },
    labels: [...labels],
    perClass,
    confusionMatrix: matrix,
  };
}

/** Plain accuracy of predictions against labels. */
export function accuracy(actual: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (actual.length !== predicted.length) throw new Error(`accuracy: ${actual.length} labels but ${predicted.length} predictions`);
  let ok = 0;
  for (let i = 0; i < actual.length; i++) if (actual[i] === predicted[i]) ok++;
  return actual.length ? ok / actual.length : 0;
}

const pct = (v: number) => (100 * v).toFixed(1);

/** The report as Markdown: summary line, per-class table, confusion matrix table. */
export function reportMarkdown(r: ClassificationReport, title = 'Evaluation'): string {
  const lines = [
    `### ${title}`,
    '',
    `${r.n} images · accuracy **${pct(r.accuracy)}%** · macro F1 ${pct(r.macroF1)}% · weighted F1 ${pct(r.weightedF1)}%`,
    '',
    '| class | precision | recall | F1 | support |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...r.labels.map((l) => {
      const m = r.perClass[l];
      return `| ${l} | ${pct(m.precision)} | ${pct(m.recall)} | ${pct(m.f1)} | ${m.support} |`;
    }),
    `| *macro avg* | ${pct(r.macro.precision)} | ${pct(r.macro.recall)} | ${pct(r.macro.f1)} | ${r.n} |`,
    `| *weighted avg* | ${pct(r.weighted.precision)} | ${pct(r.weighted.recall)} | ${pct(r.weighted.f1)} | ${r.n} |`,
    '',
    'Confusion matrix (rows: true class, columns: predicted):',
    '',
    `| true \\ predicted | ${r.labels.join(' | ')} |`,
    `| --- |${r.labels.map(() => ' ---: |').join('')}`,
    ...r.confusionMatrix.map((row, i) => `| **${r.labels[i]}** | ${row.join(' | ')} |`),
    '',
  ];
  return lines.join('\n');
}
export {
  applyClassWeights,
  expectedCalibrationError,
  fitClassWeights,
  predictedFrequencies,
  priorObjective,
  type ScoredSet,
} from './calibration.ts';
