/**
 * Where a face's annotations go, independent of what paints them: the box, its label, and a panel
 * of named per-class bars, as a list of marks (stroked and filled rectangles, text). The canvas
 * painter (`drawFaces`) and the CLI's image painter (jimp) both paint these marks, so a photo
 * annotated by `emodetect detect` and the live page look the same. Label and panel always stay
 * inside the surface; a panel that cannot fit is left out.
 */
import type { Rect } from '@emodetect/preprocess';
import type { FaceResult } from './types.ts';

export type Rgb = readonly [number, number, number];

/** One colour per emotion (RGB), readable on photos. Shared by every renderer of results. */
export const EMOTION_COLORS: Readonly<Record<string, Rgb>> = {
  angry: [228, 26, 28],
  disgust: [77, 175, 74],
  fear: [152, 78, 163],
  happy: [255, 191, 0],
  sad: [55, 126, 184],
  surprise: [255, 127, 0],
  neutral: [160, 160, 160],
};

const UNKNOWN: Rgb = [255, 255, 255];
const PANEL: Rgb = [20, 20, 20];
const TRACK: Rgb = [70, 70, 70];

/** The emotion's colour (white for an unknown label). */
export function emotionRgb(emotion: string): Rgb {
  return EMOTION_COLORS[emotion] ?? UNKNOWN;
}

/** The label drawn for a face: `#id emotion 87%`. */
export function faceLabel(f: FaceResult): string {
  return `${f.trackId !== undefined ? `#${f.trackId} ` : ''}${f.emotion} ${Math.round(100 * f.probabilities[f.emotion])}%`;
}

/** What a painter draws, in order. Text is placed by its top-left corner. */
export type Mark =
  | { kind: 'stroke'; rect: Rect; color: Rgb; lineWidth: number }
  | { kind: 'fill'; rect: Rect; color: Rgb; alpha: number }
  | { kind: 'text'; text: string; x: number; y: number; size: number; tone: 'dark' | 'light' };

export interface LayoutOptions {
  /** Size of the painted surface, in its pixels: labels and panels stay inside it. */
  width: number;
  height: number;
  /** Scale from the analysed image's pixels to the surface's (default 1). */
  scale?: number;
  /** Mirror horizontally (a selfie view); default false. */
  mirror?: boolean;
  /** The panel of named per-class bars beside each face (default true). */
  panel?: boolean;
  /** Font sizes (px) the painter can render; sizes go to the nearest of them. Default: any. */
  fontSizes?: readonly number[];
  /** Width of `text` at `size` px, as the painter will render it (default: 0.6 x size per character). */
  textWidth?: (text: string, size: number) => number;
}

/** The marks for every face, in painting order. */
export function layoutFaces(faces: readonly FaceResult[], opts: LayoutOptions): Mark[] {
  return faces.flatMap((f) => layoutFace(f, opts));
}

function layoutFace(f: FaceResult, opts: LayoutOptions): Mark[] {
  const s = opts.scale ?? 1;
  const W = opts.width;
  const H = opts.height;
  const fit = (size: number) => snap(size, opts.fontSizes);
  const measure = opts.textWidth ?? ((text: string, size: number) => 0.6 * size * text.length);
  const w = f.box.width * s;
  const h = f.box.height * s;
  const x = opts.mirror ? W - (f.box.x * s + w) : f.box.x * s;
  const y = f.box.y * s;
  const t = Math.max(2, Math.round(w / 60));
  const color = emotionRgb(f.emotion);
  const marks: Mark[] = [{ kind: 'stroke', rect: { x, y, width: w, height: h }, color, lineWidth: t }];

  // The label: above the box, inside its top edge when there is no room above; never off the surface.
  const size = fit(Math.max(12, Math.min(22, Math.round(w / 9))));
  const text = faceLabel(f);
  const lh = size + 6;
  const lw = Math.min(W, Math.max(w + t, measure(text, size) + 8));
  const lx = clamp(x - t / 2, 0, W - lw);
  const ly = clamp(y >= lh ? y - lh : y + t, 0, H - lh);
  marks.push({ kind: 'fill', rect: { x: lx, y: ly, width: lw, height: lh }, color, alpha: 0.85 });
  marks.push({ kind: 'text', text, x: lx + 4, y: ly + 3, size, tone: 'dark' });

  if (opts.panel === false) return marks;
  const labels = Object.keys(f.probabilities);
  /** The panel's marks with text of `ps` px, or null when it does not fit the surface. */
  const panel = (ps: number): Mark[] | null => {
    const rowH = ps + 4;
    const nameW = Math.max(...labels.map((l) => measure(l, ps))) + 8;
    const barW = 4.5 * ps;
    const pctW = measure('100%', ps) + 6;
    const pw = nameW + barW + pctW;
    const ph = labels.length * rowH + 6;
    if (pw > W || ph > H) return null;
    const [px, py] = placePanel({ x, y, width: w, height: h }, pw, ph, t, lh, W, H);
    const out: Mark[] = [{ kind: 'fill', rect: { x: px, y: py, width: pw, height: ph }, color: PANEL, alpha: 0.7 }];
    labels.forEach((l, i) => {
      const ry = py + 3 + i * rowH;
      const p = f.probabilities[l] ?? 0;
      const bar = { x: px + nameW, y: ry + 2, height: rowH - 4 };
      out.push(
        { kind: 'text', text: l, x: px + 4, y: ry + 1, size: ps, tone: 'light' },
        { kind: 'fill', rect: { ...bar, width: barW }, color: TRACK, alpha: 0.8 },
        { kind: 'fill', rect: { ...bar, width: barW * p }, color: emotionRgb(l), alpha: 1 },
        { kind: 'text', text: `${Math.round(100 * p)}%`, x: px + nameW + barW + 4, y: ry + 1, size: ps, tone: 'light' },
      );
    });
    return out;
  };
  // Panel text follows the face's and the surface's size, smaller when the surface is too small for it.
  const first = fit(Math.max(8, Math.min(16, Math.round(Math.max(h / 8, Math.min(W, H) / 40)))));
  for (let ps: number | undefined = first; ps !== undefined; ps = smaller(ps, opts.fontSizes)) {
    const p = panel(ps);
    if (p) return [...marks, ...p];
  }
  return marks;
}

/** Right of the box, else left of it, else below it (or above its label), clamped inside the surface. */
function placePanel(box: Rect, pw: number, ph: number, t: number, lh: number, W: number, H: number): [number, number] {
  const { x, y, width: w, height: h } = box;
  const gap = t + 2;
  const py = clamp(y, 0, H - ph);
  if (x + w + gap + pw <= W) return [x + w + gap, py];
  if (x - gap - pw >= 0) return [x - gap - pw, py];
  const px = clamp(x, 0, W - pw);
  return y + h + gap + ph <= H ? [px, y + h + gap] : [px, clamp(y - lh - gap - ph, 0, H - ph)];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, v));
}

/** The allowed size nearest `size` (the larger on a tie); any size when none are given. */
function snap(size: number, sizes: readonly number[] | undefined): number {
  if (!sizes?.length) return size;
  return sizes.reduce((best, s) =>
    Math.abs(s - size) < Math.abs(best - size) || (Math.abs(s - size) === Math.abs(best - size) && s > best) ? s : best,
  );
}

/** The next size down for a panel that does not fit (none below 8 px). */
function smaller(size: number, sizes: readonly number[] | undefined): number | undefined {
  const below = sizes?.length ? sizes.filter((s) => s < size) : size > 8 ? [size - 1] : [];
  return below.length ? Math.max(...below) : undefined;
}
