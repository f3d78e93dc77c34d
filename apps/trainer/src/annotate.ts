/** Drawing results onto images with jimp: a box per face, a label with confidence, class bars. */
import { Jimp, loadFont } from 'jimp';
import { SANS_16_WHITE } from 'jimp/fonts';
import type { RgbaImage } from '@emodetect/preprocess';
import { writeAtomically } from './outputs.ts';
import { EMOTION_COLORS, faceLabel, type FaceResult } from '@emodetect/realtime';

type Font = Awaited<ReturnType<typeof loadFont>>;
let font: Font | null = null;

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

/** A copy of `image` with every face drawn: box, label with confidence, and per-class bars. */
export async function drawAnnotations(image: RgbaImage, faces: FaceResult[]): Promise<InstanceType<typeof Jimp>> {
  font ??= await loadFont(SANS_16_WHITE);
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
    // Per-class bars under the box.
    const barH = 5;
    Object.keys(f.scores).forEach((l, i) => {
      const by = y + h + 2 + i * (barH + 1);
      fillRect(canvas, x, by, w, barH, [30, 30, 30], 0.6);
      fillRect(canvas, x, by, w * f.scores[l], barH, EMOTION_COLORS[l] ?? [255, 255, 255]);
    });
  }
  return jimg;
}

/** Draw the faces onto a copy of `image` and write it to `file` (format from the extension), atomically. */
export async function writeAnnotated(image: RgbaImage, faces: FaceResult[], file: string): Promise<void> {
  const jimg = await drawAnnotations(image, faces);
  await writeAtomically(file, async (tmp) => {
    await jimg.write(tmp as `${string}.${string}`);
  });
}
