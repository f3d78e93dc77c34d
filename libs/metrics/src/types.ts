/** The report's types (their own module, so that the renderers need not import the index). */
export interface ClassMetrics {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

/** The evaluation report; its JSON form is what `emodetect eval --json` prints. */
export interface ClassificationReport {
  n: number;
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  macro: Omit<ClassMetrics, 'support'>;
  weighted: Omit<ClassMetrics, 'support'>;
  labels: string[];
  perClass: Record<string, ClassMetrics>;
  /** Rows are true classes, columns predicted classes, in `labels` order. */
  confusionMatrix: number[][];
}
