/**
 * Drawing results on a 2D canvas (browser `CanvasRenderingContext2D` or `OffscreenCanvas`'s): a
 * box per face, its label with confidence, and one bar per class. Only the few canvas calls below
 * are used, so any object implementing them (a test double, a Node canvas) works too.
 */
import type { FaceResult } from './types.ts';

/** One colour per emotion (RGB), readable on photos. Shared by every renderer of results. */
export const EMOTION_COLORS: Readonly<Record<string, readonly [number, number, number]>> = {
  angry: [228, 26, 28],
  disgust: [77, 175, 74],
  fear: [152, 78, 163],
  happy: [255, 191, 0],
  sad: [55, 126, 184],
  surprise: [255, 127, 0],
  neutral: [160, 160, 160],
};

/** CSS colour of an emotion (`rgb(...)`), white for an unknown label. */
export function emotionColor(emotion: string, alpha = 1): string {
  const [r, g, b] = EMOTION_COLORS[emotion] ?? [255, 255, 255];
  return alpha === 1 ? `rgb(${r}, ${g}, ${b})` : `rgba(${r}, ${g}, ${b}, ${alpha})`;
}

/** The subset of the canvas 2D API that {@link drawFaces} uses. */
export interface Canvas2D {
  fillStyle: unknown;
  strokeStyle: unknown;
  lineWidth: number;
  font: string;
  textBaseline: unknown;
  fillRect(x: number, y: number, w: number, h: number): void;
  strokeRect(x: number, y: number, w: number, h: number): void;
  fillText(text: string, x: number, y: number): void;
  measureText(text: string): { width: number };
}

export interface DrawOptions {
  /** Scale from the analysed image's pixels to the canvas's (default 1). */
  scale?: number;
  /** Draw the per-class bars under each box (default true). */
  bars?: boolean;
  /** Mirror horizontally around this canvas width (a selfie view); default: not mirrored. */
  mirrorWidth?: number;
}

/** The label drawn for a face: `#id emotion 87%`. */
export function faceLabel(f: FaceResult): string {
  return `${f.trackId !== undefined ? `#${f.trackId} ` : ''}${f.emotion} ${Math.round(100 * f.probabilities[f.emotion])}%`;
}

/** Draw every face's box, label and class bars. The caller clears or redraws the image first. */
export function drawFaces(ctx: Canvas2D, faces: readonly FaceResult[], opts: DrawOptions = {}): void {
  const s = opts.scale ?? 1;
  for (const f of faces) {
    const w = f.box.width * s;
    const h = f.box.height * s;
    const x = opts.mirrorWidth !== undefined ? opts.mirrorWidth - (f.box.x * s + w) : f.box.x * s;
    const y = f.box.y * s;
    const t = Math.max(2, Math.round(w / 60));
    ctx.lineWidth = t;
    ctx.strokeStyle = emotionColor(f.emotion);
    ctx.strokeRect(x, y, w, h);
    const size = Math.max(12, Math.min(22, Math.round(w / 9)));
    ctx.font = `600 ${size}px system-ui, sans-serif`;
    ctx.textBaseline = 'top';
    const text = faceLabel(f);
    const lh = size + 6;
    const ly = y >= lh ? y - lh : y + t;
    ctx.fillStyle = emotionColor(f.emotion, 0.85);
    ctx.fillRect(x - t / 2, ly, Math.max(w + t, ctx.measureText(text).width + 8), lh);
    ctx.fillStyle = '#000';
    ctx.fillText(text, x + 4, ly + 3);
    if (opts.bars === false) continue;
    const barH = Math.max(3, Math.round(h / 40));
    Object.entries(f.probabilities).forEach(([label, p], i) => {
      const by = y + h + t + i * (barH + 1);
      ctx.fillStyle = 'rgba(30, 30, 30, 0.6)';
      ctx.fillRect(x, by, w, barH);
      ctx.fillStyle = emotionColor(label);
      ctx.fillRect(x, by, w * p, barH);
    });
  }
}
