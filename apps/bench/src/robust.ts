/**
 * `bench:robust`: how each classifier holds up when faces are not clean. The same faces (a
 * seeded, stratified FER2013 PrivateTest sample and the ExpW test faces found by the detector)
 * are degraded in 17 ways (light, pose, occlusion, image quality) with the very functions of
 * `@emodetect/augment`, and every model (ours and the anchors, face-api.js and Human) classifies
 * the same 48x48 gray crops. Reports accuracy, macro F1 and the drop from the clean faces.
 */
import {
  Rng,
  applyBlur,
  applyBrightnessContrast,
  applyDownUp,
  applyGamma,
  applyJpeg,
  applyNoise,
  applySideLight,
  geometricTransform,
  occludeEyes,
  occludeMouth,
  occludePatch,
  warpBilinear,
  type GrayFloat,
} from '@emodetect/augment';
import { classificationReport } from '@emodetect/metrics';
import { argmaxRows, EMOTIONS } from '@emodetect/model';
import type { FaceClassifier } from './anchors.ts';

const SIZE = 48;
const PER = SIZE * SIZE;

/** One way of degrading a face; `i` is the face's position (for seeded or alternating choices). */
export interface Perturbation {
  name: string;
  group: 'clean' | 'lighting' | 'pose' | 'occlusion' | 'quality';
  apply(img: GrayFloat, i: number): void;
}

const warp = (img: GrayFloat, p: Parameters<typeof geometricTransform>[2]) => {
  const src = img.data.slice();
  warpBilinear(src, img.data, img.height, img.width, geometricTransform(img.width, img.height, p));
};
const rotate = (deg: number) => (img: GrayFloat, i: number) =>
  warp(img, { angleRad: ((i % 2 ? -deg : deg) * Math.PI) / 180, scale: 1, dx: 0, dy: 0, flip: false });

/** The perturbations of issue 25, in report order. Rotations alternate their sign face by face. */
export const PERTURBATIONS: readonly Perturbation[] = [
  { name: 'clean', group: 'clean', apply: () => undefined },
  { name: 'brightness +40%', group: 'lighting', apply: (img) => applyBrightnessContrast(img, 1.4, 1) },
  { name: 'brightness -40%', group: 'lighting', apply: (img) => applyBrightnessContrast(img, 0.6, 1) },
  { name: 'gamma 0.5', group: 'lighting', apply: (img) => applyGamma(img, 0.5) },
  { name: 'gamma 2', group: 'lighting', apply: (img) => applyGamma(img, 2) },
  { name: 'low contrast (x0.4)', group: 'lighting', apply: (img) => applyBrightnessContrast(img, 1, 0.4) },
  { name: 'side light', group: 'lighting', apply: (img, i) => applySideLight(img, 0.6, i % 2 ? 0 : Math.PI) },
  { name: 'rotation ±20°', group: 'pose', apply: rotate(20) },
  { name: 'rotation ±35°', group: 'pose', apply: rotate(35) },
  {
    name: 'horizontal squeeze (x0.75)',
    group: 'pose',
    // Width x0.75, height kept: zoom √0.75 with aspect √0.75 (geometricTransform scales width by
    // scale·aspect and height by scale/aspect).
    apply: (img) => warp(img, { angleRad: 0, scale: Math.sqrt(0.75), dx: 0, dy: 0, flip: false, aspect: Math.sqrt(0.75) }),
  },
  { name: 'sunglasses (eye band)', group: 'occlusion', apply: (img) => occludeEyes(img) },
  { name: 'mask (lower face)', group: 'occlusion', apply: (img) => occludeMouth(img) },
  {
    name: 'random patch (30%)',
    group: 'occlusion',
    apply: (img, i) => {
      const r = new Rng(1000 + i);
      occludePatch(img, r.uniform(0, 0.7), r.uniform(0, 0.7), 0.3, r.next());
    },
  },
  { name: 'blur σ1.5', group: 'quality', apply: (img) => applyBlur(img, 1.5) },
  { name: '24 px down-up', group: 'quality', apply: (img) => applyDownUp(img, 24) },
  { name: 'noise σ15', group: 'quality', apply: (img, i) => applyNoise(img, 15 / 255, new Rng(2000 + i)) },
  { name: 'JPEG q20', group: 'quality', apply: (img) => applyJpeg(img, 20) },
];

/** Faces of one perturbation: `pixels` (n x 48 x 48 uint8) degraded by `p`. */
export function perturbFaces(pixels: Uint8Array, n: number, p: Perturbation): Uint8Array {
  const out = new Uint8Array(n * PER);
  const img: GrayFloat = { data: new Float32Array(PER), width: SIZE, height: SIZE };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < PER; j++) img.data[j] = pixels[i * PER + j] / 255;
    p.apply(img, i);
    for (let j = 0; j < PER; j++) out[i * PER + j] = Math.round(255 * Math.min(1, Math.max(0, img.data[j])));
  }
  return out;
}

/** A named set of faces with labels in FER2013's order. */
export interface FaceSet {
  name: string;
  pixels: Uint8Array;
  labels: ArrayLike<number>;
  n: number;
}

export interface RobustCell {
  accuracy: number;
  macroF1: number;
  /** Predicted-class frequencies, in FER2013's order. */
  predicted: number[];
}

export interface RobustResult {
  set: string;
  n: number;
  models: string[];
  /** rows[perturbation][model] */
  rows: { perturbation: string; group: string; cells: RobustCell[] }[];
}

/** Run every classifier on every perturbation of one face set. */
export async function benchRobust(
  set: FaceSet,
  classifiers: readonly FaceClassifier[],
  perturbations: readonly Perturbation[] = PERTURBATIONS,
  log?: (line: string) => void,
): Promise<RobustResult> {
  const rows: RobustResult['rows'] = [];
  const truth = Array.from(set.labels);
  for (const p of perturbations) {
    const faces = perturbFaces(set.pixels, set.n, p);
    const cells: RobustCell[] = [];
    for (const c of classifiers) {
      const pred = Array.from(argmaxRows(await c.classify(faces, set.n), 7));
      const r = classificationReport(truth, pred, [...EMOTIONS]);
      const predicted = new Array<number>(7).fill(0);
      for (const k of pred) predicted[k] += 1 / set.n;
      cells.push({ accuracy: r.accuracy, macroF1: r.macroF1, predicted });
    }
    rows.push({ perturbation: p.name, group: p.group, cells });
    log?.(`${set.name}: ${p.name}: ${cells.map((x, i) => `${classifiers[i].name} ${(100 * x.accuracy).toFixed(1)}%`).join(', ')}`);
  }
  return { set: set.name, n: set.n, models: classifiers.map((c) => c.name), rows };
}

const pct = (x: number) => (100 * x).toFixed(1);
const signed = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(100 * x).toFixed(1)}`;

/**
 * A Markdown table per face set: accuracy (drop from clean) per model, the best of each row in
 * bold, and the most-predicted class where one class takes over half the answers.
 */
export function robustMarkdown(r: RobustResult): string {
  const clean = r.rows[0].cells;
  let md = `| ${r.set} (${r.n} faces) | ${r.models.map((m) => `${m}: accuracy (drop) / macro F1`).join(' | ')} |\n`;
  md += `| --- | ${r.models.map(() => '---:').join(' | ')} |\n`;
  for (const row of r.rows) {
    const best = Math.max(...row.cells.map((c) => c.accuracy));
    const cells = row.cells.map((c, i) => {
      const acc = `${pct(c.accuracy)}%`;
      const drop = row.perturbation === 'clean' ? '' : ` (${signed(c.accuracy - clean[i].accuracy)})`;
      const top = c.predicted.indexOf(Math.max(...c.predicted));
      const collapse = c.predicted[top] > 0.5 ? ` · ${Math.round(100 * c.predicted[top])}% "${EMOTIONS[top]}"` : '';
      const text = `${acc}${drop} / ${pct(c.macroF1)}%${collapse}`;
      return c.accuracy === best ? `**${text}**` : text;
    });
    md += `| ${row.perturbation} | ${cells.join(' | ')} |\n`;
  }
  return md;
}

/**
 * Rows (perturbations) where model `a` is ahead of the models `against` (default: every other),
 * and the perturbations where its drop from clean is no larger than each of theirs.
 */
export function robustSummary(
  r: RobustResult,
  a = 0,
  against: readonly number[] = r.models.map((_, i) => i).filter((i) => i !== a),
): { ahead: number; rows: number; dropNoWorse: string[]; dropWorse: string[] } {
  const clean = r.rows[0].cells;
  let ahead = 0;
  const dropNoWorse: string[] = [];
  const dropWorse: string[] = [];
  const drop = (row: RobustResult['rows'][number], i: number) => clean[i].accuracy - row.cells[i].accuracy;
  for (const row of r.rows) {
    if (against.every((i) => row.cells[a].accuracy > row.cells[i].accuracy)) ahead++;
    if (row.perturbation === 'clean') continue;
    if (against.every((i) => drop(row, a) <= drop(row, i))) dropNoWorse.push(row.perturbation);
    else dropWorse.push(row.perturbation);
  }
  return { ahead, rows: r.rows.length, dropNoWorse, dropWorse };
}
