/**
 * The inference worker: backend, face detector and emotion model live here, off the page's main
 * thread, so the page stays responsive while a frame is analysed. The page sends ImageBitmaps
 * (transferred, not copied) and receives plain results.
 */
import { initBackend } from '@emodetect/backend';
import { createFaceDetector } from '@emodetect/face-detect';
import { loadModelFromUrl, predictProbabilities, useFoldedInference } from '@emodetect/model';
import {
  createEmotionPipeline,
  createFrameLoop,
  createTracker,
  IMAGE_RECIPE,
  recipeDetector,
  resolveRecipe,
  VIDEO_RECIPE,
  type EmotionPipeline,
  type FrameLoop,
} from '@emodetect/realtime';
import type { RgbaImage } from '@emodetect/preprocess';
import type { EngineConfig, FromWorker, ReadyInfo, ToWorker } from './protocol.ts';

/** The live view's frame-time target (ms): 30 frames per second. */
const LIVE_TARGET_MS = 33;

/** The worker's global scope (typed here: the DOM and WebWorker libs cannot be loaded together). */
const scope = self as unknown as { postMessage(msg: FromWorker): void; onmessage: ((ev: MessageEvent<ToWorker>) => void) | null };

interface Engine {
  pipeline: EmotionPipeline;
  smoothLoop: FrameLoop;
  rawLoop: FrameLoop;
  images: FrameLoop;
}

let engine: Engine | null = null;
let canvas: OffscreenCanvas | null = null;

const post = (msg: FromWorker) => scope.postMessage(msg);

/** RGBA pixels of a bitmap (the bitmap is closed). */
function pixels(bitmap: ImageBitmap): RgbaImage {
  const { width, height } = bitmap;
  if (!canvas || canvas.width !== width || canvas.height !== height) canvas = new OffscreenCanvas(width, height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('OffscreenCanvas 2D is not available in this browser');
  ctx.drawImage(bitmap, 0, 0);
  bitmap.close();
  const img = ctx.getImageData(0, 0, width, height);
  return { width, height, data: img.data };
}

async function init(config: EngineConfig): Promise<ReadyInfo> {
  const t0 = performance.now();
  const info = await initBackend({ backend: config.backend, wasmPath: `${config.assets}/tfjs-wasm/` });
  const manifest = (await (await fetch(`${config.assets}/manifest.json`)).json()) as {
    model: string;
    liveModel?: string;
    detector: string;
  };
  const modelUrl = `${config.assets}/${manifest.model}`;
  // The live view runs the small model where one is bundled (speed matters there), photos the default.
  const liveUrl = `${config.assets}/${manifest.liveModel ?? manifest.model}`;
  const [detector, model, liveModel] = await Promise.all([
    createFaceDetector({
      model: config.detector,
      // Photos may hold up to 20 faces (the live view keeps the 10 largest, in its pipeline).
      maxFaces: 20,
      modelUrl: `${config.assets}/${manifest.detector}/facemesh-detection-${config.detector}.json`,
    }),
    loadModelFromUrl(modelUrl),
    liveUrl === modelUrl ? null : loadModelFromUrl(liveUrl),
  ]);
  const live = liveModel ?? model;
  // Batch-norm folded into the convolutions: fewer ops per face, the same probabilities.
  useFoldedInference(model);
  if (liveModel) useFoldedInference(liveModel);
  // The shared recipes: whole frames for the live view; for photos, analysed once, what `emodetect
  // detect` does for images (3x3 tiles and a second look), up to 20 faces.
  const bases = { [config.detector]: detector };
  const liveRecipe = resolveRecipe(VIDEO_RECIPE, { detector: config.detector });
  const photoRecipe = resolveRecipe(IMAGE_RECIPE, { detector: config.detector, maxFaces: 20 });
  const pipeline = createEmotionPipeline(recipeDetector(bases, liveRecipe), live, { maxFaces: liveRecipe.maxFaces });
  engine = {
    pipeline,
    // The live view aims at 30 FPS: on a slow machine it detects on fewer frames (up to 1 in 5)
    // and classifies the tracked boxes on every frame.
    smoothLoop: createFrameLoop(pipeline, { tracker: createTracker(), adaptive: { targetMs: LIVE_TARGET_MS } }),
    rawLoop: createFrameLoop(pipeline, { tracker: null, adaptive: { targetMs: LIVE_TARGET_MS } }),
    images: createFrameLoop(createEmotionPipeline(recipeDetector(bases, photoRecipe), model, { maxFaces: photoRecipe.maxFaces }), {
      tracker: null,
    }),
  };
  const loadMs = performance.now() - t0;
  // Warm-up: the first run of each op compiles shaders or allocates; keep it out of the first frame.
  const t1 = performance.now();
  const blank: RgbaImage = { width: 64, height: 64, data: new Uint8ClampedArray(64 * 64 * 4).fill(128) };
  await pipeline.findFaces(blank);
  for (const m of liveModel ? [model, liveModel] : [model]) {
    const { height, width, channels } = m.metadata.input;
    await predictProbabilities(m, new Float32Array(height * width * channels), 1);
  }
  return {
    backend: info.name,
    skipped: info.skipped,
    model: {
      name: live.metadata.name,
      arch: live.metadata.arch,
      parameters: live.metadata.parameters,
      labels: [...live.metadata.labels],
      url: liveUrl,
    },
    imageModel: { name: model.metadata.name, url: modelUrl },
    loadMs,
    warmupMs: performance.now() - t1,
  };
}

scope.onmessage = async (ev: MessageEvent<ToWorker>) => {
  const msg = ev.data;
  try {
    if (msg.type === 'init') {
      post({ type: 'ready', info: await init(msg.config) });
      return;
    }
    if (!engine) throw new Error('the engine is not initialised');
    const t0 = performance.now();
    const image = pixels(msg.bitmap);
    const loop = msg.type === 'image' ? engine.images : msg.smoothing ? engine.smoothLoop : engine.rawLoop;
    const faces = await loop.process(image);
    post({
      type: 'result',
      result: { id: msg.id, faces, width: image.width, height: image.height, ms: performance.now() - t0, stats: loop.stats() },
    });
  } catch (e) {
    if ('bitmap' in msg) msg.bitmap.close();
    post({ type: 'error', id: 'id' in msg ? msg.id : undefined, message: e instanceof Error ? e.message : String(e) });
  }
};
