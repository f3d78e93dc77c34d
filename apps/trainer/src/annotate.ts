/** Drawing results onto images with jimp: a box per face, a label with confidence, class bars. */
import { Jimp, loadFont } from 'jimp';
import { SANS_16_WHITE, SANS_8_WHITE } from 'jimp/fonts';
import type { RgbaImage } from '@emodetect/preprocess';
import { writeAtomically } from './outputs.ts';
import { EMOTION_COLORS, faceLabel, type FaceResult } from '@emodetect/realtime';

type Font = Awaited<ReturnType<typeof loadFont>>;
let font: Font | null = null;
let smallFont: Font | null = null;

function fillRect(img: RgbaImage, x0: number, y0: number, w: number, h: number, rgb: readonly [number, number, number], alpha = 1): void {
  const x1 = Math.min(img.width, Math.round(x0 + w));
  const y1 = Math.min(img.height, Math.round(y0 + h));
  for (let y = Math.max(0, Math.round(y0)); y < y1; y++) {
    for (let x = Math.max(0, Math.round(x0)); x < x1; x++) {
      const o = (y * img.width + x) * 4;
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.round(alpha * rgb[c] + (1 - alpha) * img.data[o + c]);
    }
  }
}

/** A copy of `image` with every face drawn: box, label with confidence, and a panel of named per-class bars. */
export async function drawAnnotations(image: RgbaImage, faces: FaceResult[]): Promise<InstanceType<typeof Jimp>> {
  font ??= await loadFont(SANS_16_WHITE);
  smallFont ??= await loadFont(SANS_8_WHITE);
  const jimg = new Jimp({ width: image.width, height: image.height });
  jimg.bitmap.data.set(image.data);
  const canvas: RgbaImage = { width: image.width, height: image.height, data: jimg.bitmap.data };
  const t = Math.max(2, Math.round(Math.min(image.width, image.height) / 240));
  for (const f of faces) {
    const color = EMOTION_COLORS[f.emotion] ?? [255, 255, 255];
    const { x, y, width: w, height: h } = f.box;
    fillRect(canvas, x, y, w, t, color);
    fillRect(canvas, x, y + h - t, w, t, color);
    fillRect(canvas, x, y, t, h, color);
    fillRect(canvas, x + w - t, y, t, h, color);
    // Label above the box (inside it when there is no room).
    const text = faceLabel(f);
    const ly = y >= 22 ? y - 22 : y + t;
    fillRect(canvas, x, ly, Math.max(w, 9 * text.length), 22, color, 0.85);
    jimg.print({ font, x: Math.round(x) + 4, y: Math.round(ly) + 2, text });
    classPanel(jimg, canvas, f, t);
  }
  return jimg;
}

/**
 * One named bar per class (name, bar, percentage) in a panel beside the face: right of the box,
 * else left of it, else below or above it, always inside the image (smaller images get smaller
 * text; below 60 px of room, no panel).
 */
function classPanel(jimg: InstanceType<typeof Jimp>, canvas: RgbaImage, f: FaceResult, t: number): void {
  const labels = Object.keys(f.probabilities);
  const small = canvas.height < 220 || canvas.width < 260;
  const rowH = small ? 10 : 18;
  const nameW = small ? 44 : 78;
  const barW = small ? 40 : 70;
  const pctW = small ? 24 : 40;
  const panelW = nameW + barW + pctW + 8;
  const panelH = labels.length * rowH + 6;
  if (panelH > canvas.height || panelW > canvas.width) return;
  const { x, y, width: w, height: h } = f.box;
  const fitsX = (px: number) => px >= 0 && px + panelW <= canvas.width;
  const clampY = (py: number) => Math.max(0, Math.min(canvas.height - panelH, py));
  let px: number;
  let py: number;
  if (fitsX(x + w + t + 2)) [px, py] = [x + w + t + 2, clampY(y)];
  else if (fitsX(x - panelW - t - 2)) [px, py] = [x - panelW - t - 2, clampY(y)];
  else {
    px = Math.max(0, Math.min(canvas.width - panelW, x));
    py = y + h + t + 2 + panelH <= canvas.height ? y + h + t + 2 : clampY(y - panelH - 26);
  }
  fillRect(canvas, px, py, panelW, panelH, [20, 20, 20], 0.7);
  labels.forEach((l, i) => {
    const ry = py + 3 + i * rowH;
    const p = f.probabilities[l];
    jimg.print({ font: small ? smallFont! : font!, x: Math.round(px) + 3, y: Math.round(ry), text: l });
    fillRect(canvas, px + nameW, ry + 2, barW, rowH - 5, [70, 70, 70], 0.8);
    fillRect(canvas, px + nameW, ry + 2, barW * p, rowH - 5, EMOTION_COLORS[l] ?? [255, 255, 255]);
    jimg.print({
      font: small ? smallFont! : font!,
      x: Math.round(px + nameW + barW + 4),
      y: Math.round(ry),
      text: `${Math.round(100 * p)}%`,
    });
  });
}

/** Draw the faces onto a copy of `image` and write it to `file` (format from the extension), atomically. */
export async function writeAnnotated(image: RgbaImage, faces: FaceResult[], file: string): Promise<void> {
  const jimg = await drawAnnotations(image, faces);
  await writeAtomically(file, async (tmp) => {
    await jimg.write(tmp as `${string}.${string}`);
  });
}
