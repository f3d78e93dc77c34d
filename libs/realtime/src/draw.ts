/**
 * Drawing results on a 2D canvas (browser `CanvasRenderingContext2D` or `OffscreenCanvas`'s): the
 * marks of `layoutFaces` (box, label with confidence, a panel of named per-class bars). Only the
 * few canvas calls below are used, so any object implementing them (a test double, a Node canvas)
 * works too.
 */
import { emotionRgb, layoutFaces, type Mark, type Rgb } from './layout.ts';
import type { FaceResult } from './types.ts';

/** CSS colour of an emotion (`rgb(...)`), white for an unknown label. */
export function emotionColor(emotion: string, alpha = 1): string {
  return css(emotionRgb(emotion), alpha);
}

function css([r, g, b]: Rgb, alpha: number): string {
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
  /** The canvas drawn on (its size keeps labels and panels inside). */
  readonly canvas?: { width: number; height: number };
}

export interface DrawOptions {
  /** Scale from the analysed image's pixels to the canvas's (default 1). */
  scale?: number;
  /** Draw the panel of named per-class bars beside each box (default true). */
  bars?: boolean;
  /** Mirror horizontally around this canvas width (a selfie view); default: not mirrored. */
  mirrorWidth?: number;
  /** Size of the surface (default: `ctx.canvas`'s): labels and panels stay inside it. */
  size?: { width: number; height: number };
}

const font = (size: number) => `600 ${size}px system-ui, sans-serif`;

/** Draw every face's box, label and class panel. The caller clears or redraws the image first. */
export function drawFaces(ctx: Canvas2D, faces: readonly FaceResult[], opts: DrawOptions = {}): void {
  const size = opts.size ?? ctx.canvas ?? { width: opts.mirrorWidth ?? Infinity, height: Infinity };
  const marks = layoutFaces(faces, {
    width: opts.mirrorWidth ?? size.width,
    height: size.height,
    ...(opts.scale !== undefined && { scale: opts.scale }),
    mirror: opts.mirrorWidth !== undefined,
    panel: opts.bars !== false,
    textWidth: (text, px) => {
      ctx.font = font(px);
      return ctx.measureText(text).width;
    },
  });
  ctx.textBaseline = 'top';
  for (const m of marks) paint(ctx, m);
}

function paint(ctx: Canvas2D, m: Mark): void {
  if (m.kind === 'stroke') {
    ctx.lineWidth = m.lineWidth;
    ctx.strokeStyle = css(m.color, 1);
    ctx.strokeRect(m.rect.x, m.rect.y, m.rect.width, m.rect.height);
  } else if (m.kind === 'fill') {
    ctx.fillStyle = css(m.color, m.alpha);
    ctx.fillRect(m.rect.x, m.rect.y, m.rect.width, m.rect.height);
  } else {
    ctx.font = font(m.size);
    ctx.fillStyle = m.tone === 'dark' ? '#000' : '#fff';
    ctx.fillText(m.text, m.x, m.y);
  }
}
