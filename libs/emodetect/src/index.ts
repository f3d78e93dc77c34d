/**
 * emodetect: faces and their emotions in one call.
 *
 *   import { createEmotionDetector } from 'emodetect';
 *   const detector = await createEmotionDetector({ assets: '/emodetect' });
 *   const faces = await detector.detect(document.querySelector('img'));
 *   // [{ box: { x, y, width, height }, score, emotion: 'happy', probabilities: { angry: 0.01, … } }]
 *
 * This is the browser's entry (and any bundler's): inputs are images, videos, canvases,
 * ImageBitmaps, ImageData or RGBA pixels. The model, the face detector and tfjs' wasm files are
 * served from `assets`, laid out as the demo's build lays them out (`manifest.json` names the
 * folders; `npx tsx apps/demo/scripts/copy-assets.ts` writes them). In Node, the same import reads
 * files and Buffers and needs no assets (see node.ts).
 */
import { initBackend, type BackendName } from '@emodetect/backend';
import { createFaceDetector } from '@emodetect/face-detect';
import { loadModelFromUrl, useFoldedInference } from '@emodetect/model';
import type { RgbaImage } from '@emodetect/preprocess';
import { IMAGE_RECIPE, VIDEO_RECIPE, recipeModels, resolveRecipe, type DetectorRecipe } from '@emodetect/realtime';
import { createCore, type EmotionDetector } from './core.ts';

export * from './core.ts';

/** What the browser entry reads. */
export type BrowserInput = RgbaImage | ImageData | ImageBitmap | HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | OffscreenCanvas;

export interface BrowserDetectorOptions {
  /** Base URL of the served assets (`<assets>/manifest.json`, model and detector folders, `tfjs-wasm/`). */
  assets: string;
  /** Use the manifest's live model (small and fast, for webcams) instead of the default one. */
  live?: boolean;
  /** tfjs backend (default `auto`: the fastest that starts). */
  backend?: BackendName;
  /** Detector recipe for still images (default IMAGE_RECIPE), field by field. */
  image?: Partial<DetectorRecipe>;
  /** Detector recipe for streams (default VIDEO_RECIPE), field by field. */
  stream?: Partial<DetectorRecipe>;
}

let canvas: OffscreenCanvas | null = null;

/** RGBA pixels of anything a page can draw. */
export function toRgba(input: BrowserInput): RgbaImage {
  if (typeof ImageData !== 'undefined' && input instanceof ImageData) return { width: input.width, height: input.height, data: input.data };
  if ('data' in input) return input;
  const el = input as HTMLImageElement | HTMLVideoElement | HTMLCanvasElement | OffscreenCanvas | ImageBitmap;
  const width = 'videoWidth' in el ? el.videoWidth : 'naturalWidth' in el ? el.naturalWidth : el.width;
  const height = 'videoHeight' in el ? el.videoHeight : 'naturalHeight' in el ? el.naturalHeight : el.height;
  if (!width || !height) throw new Error('emodetect: the image or video has no pixels yet (is it loaded?)');
  if (!canvas || canvas.width !== width || canvas.height !== height) canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('emodetect: OffscreenCanvas 2D is not available in this browser');
  ctx.drawImage(el, 0, 0);
  const img = ctx.getImageData(0, 0, width, height);
  return { width, height, data: img.data };
}

/** The detector in a browser, with the model and face detector from served assets. */
export async function createEmotionDetector(options: BrowserDetectorOptions): Promise<EmotionDetector<BrowserInput>> {
  const base = options.assets.replace(/\/+$/, '');
  const recipes = { image: resolveRecipe(IMAGE_RECIPE, options.image), stream: resolveRecipe(VIDEO_RECIPE, options.stream) };
  await initBackend({ backend: options.backend ?? 'auto', wasmPath: `${base}/tfjs-wasm/` });
  const res = await fetch(`${base}/manifest.json`);
  if (!res.ok) throw new Error(`emodetect: ${base}/manifest.json: HTTP ${res.status}`);
  const manifest = (await res.json()) as { model: string; liveModel?: string; detector: string };
  const needed = [...new Set([...recipeModels(recipes.image), ...recipeModels(recipes.stream)])];
  // At least 10 per detector call: the pipeline then keeps the largest maxFaces.
  const maxFaces = Math.max(recipes.image.maxFaces, recipes.stream.maxFaces, 10);
  const minScore = Math.min(recipes.image.minScore, recipes.stream.minScore);
  const [model, ...detectors] = await Promise.all([
    loadModelFromUrl(`${base}/${options.live ? (manifest.liveModel ?? manifest.model) : manifest.model}`),
    ...needed.map((m) =>
      createFaceDetector({ model: m, modelUrl: `${base}/${manifest.detector}/facemesh-detection-${m}.json`, maxFaces, minScore }),
    ),
  ]);
  useFoldedInference(model);
  const bases = Object.fromEntries(needed.map((m, i) => [m, detectors[i]]));
  return createCore(model, bases, recipes, async (input: BrowserInput) => toRgba(input));
}
