/**
 * Drawing results onto images with jimp: the marks of realtime's `layoutFaces` (box, label with
 * confidence, a panel of named per-class bars), the same layout the live page paints on its canvas.
 */
import { Jimp, loadFont, measureText } from 'jimp';
import { SANS_16_BLACK, SANS_16_WHITE, SANS_32_BLACK, SANS_32_WHITE, SANS_8_BLACK, SANS_8_WHITE } from 'jimp/fonts';
import type { RgbaImage } from '@emodetect/preprocess';
import { layoutFaces, type FaceResult, type Rgb } from '@emodetect/realtime';
import { writeAtomically } from './outputs.ts';

type Font = Awaited<ReturnType<typeof loadFont>>;
/** jimp's bitmap fonts: the sizes it has in both tones. */
const FONT_FILES = {
  8: { dark: SANS_8_BLACK, light: SANS_8_WHITE },
  16: { dark: SANS_16_BLACK, light: SANS_16_WHITE },
  32: { dark: SANS_32_BLACK, light: SANS_32_WHITE },
} as const;
type Size = keyof typeof FONT_FILES;
const SIZES = [8, 16, 32] as const;
let fonts: Record<Size, { dark: Font; light: Font }> | null = null;

async function loadFonts(): Promise<Record<Size, { dark: Font; light: Font }>> {
  const load = async (s: Size) => ({ dark: await loadFont(FONT_FILES[s].dark), light: await loadFont(FONT_FILES[s].light) });
  return { 8: await load(8), 16: await load(16), 32: await load(32) };
}

function fillRect(img: RgbaImage, x0: number, y0: number, w: number, h: number, rgb: Rgb, alpha: number): void {
  const x1 = Math.min(img.width, Math.round(x0 + w));
  const y1 = Math.min(img.height, Math.round(y0 + h));
  for (let y = Math.max(0, Math.round(y0)); y < y1; y++) {
    for (let x = Math.max(0, Math.round(x0)); x < x1; x++) {
      const o = (y * img.width + x) * 4;
      for (let c = 0; c < 3; c++) img.data[o + c] = Math.round(alpha * rgb[c]! + (1 - alpha) * img.data[o + c]!);
    }
  }
}

/** A copy of `image` with every face drawn: box, label with confidence, and a panel of named per-class bars. */
export async function drawAnnotations(image: RgbaImage, faces: FaceResult[]): Promise<InstanceType<typeof Jimp>> {
  fonts ??= await loadFonts();
  const f = fonts;
  const jimg = new Jimp({ width: image.width, height: image.height });
  jimg.bitmap.data.set(image.data);
  const canvas: RgbaImage = { width: image.width, height: image.height, data: jimg.bitmap.data };
  const marks = layoutFaces(faces, {
    width: image.width,
    height: image.height,
    fontSizes: SIZES,
    textWidth: (text, size) => measureText(f[size as Size].light, text),
  });
  for (const m of marks) {
    if (m.kind === 'fill') fillRect(canvas, m.rect.x, m.rect.y, m.rect.width, m.rect.height, m.color, m.alpha);
    else if (m.kind === 'stroke') {
      const { x, y, width: w, height: h } = m.rect;
      const t = m.lineWidth;
      // Centred on the box's edges, as a canvas strokes them.
      fillRect(canvas, x - t / 2, y - t / 2, w + t, t, m.color, 1);
      fillRect(canvas, x - t / 2, y + h - t / 2, w + t, t, m.color, 1);
      fillRect(canvas, x - t / 2, y - t / 2, t, h + t, m.color, 1);
      fillRect(canvas, x + w - t / 2, y - t / 2, t, h + t, m.color, 1);
    } else jimg.print({ font: f[m.size as Size][m.tone], x: Math.round(m.x), y: Math.round(m.y), text: m.text });
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
