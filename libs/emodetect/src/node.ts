/**
 * emodetect in Node: faces and their emotions in one call, with the bundled model and face
 * detector read from disk, and the classifier on the native backend when it is built.
 *
 *   import { createEmotionDetector } from 'emodetect';
 *   const detector = await createEmotionDetector();
 *   const faces = await detector.detect('photo.jpg');   // a path, a Buffer, or RGBA pixels
 *   // [{ box: { x, y, width, height }, score, emotion: 'happy', probabilities: { angry: 0.01, … } }]
 */
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { createNodeFaceDetector } from '@emodetect/face-detect/node';
import { bundledModelDir, loadModelFolder, useFoldedInference, type EmotionModel } from '@emodetect/model/node';
import { decodeImageBytes, decodeImageFileRgba, type GrayImage, type RgbaImage } from '@emodetect/preprocess/node';
import { IMAGE_RECIPE, VIDEO_RECIPE, recipeModels, resolveRecipe, type DetectorRecipe } from '@emodetect/realtime';
import { createCore, type EmotionDetector } from './core.ts';

export * from './core.ts';

/** What the Node entry reads: an image file's path, its bytes, or pixels. */
export type NodeInput = string | Uint8Array | RgbaImage | GrayImage;

export interface NodeDetectorOptions {
  /** A model folder, or a loaded model (default: the bundled models/fer-base). */
  model?: string | EmotionModel;
  /** Where the classifier runs: `auto` (default: native when built, else tfjs), `native` or `tfjs`. */
  classifier?: 'auto' | 'native' | 'tfjs';
  /** tfjs backend for the face detector (and the classifier on tfjs); default `auto`. */
  backend?: BackendName;
  /** Detector recipe for still images (default IMAGE_RECIPE), field by field. */
  image?: Partial<DetectorRecipe>;
  /** Detector recipe for streams (default VIDEO_RECIPE), field by field. */
  stream?: Partial<DetectorRecipe>;
}

async function pixels(input: NodeInput): Promise<RgbaImage | GrayImage> {
  if (typeof input === 'string') return decodeImageFileRgba(input);
  if (input instanceof Uint8Array) return decodeImageBytes(input, 'image buffer');
  return input;
}

/** The detector in Node. Errors about an input (missing, corrupt, too large) are DataErrors naming it. */
export async function createEmotionDetector(options: NodeDetectorOptions = {}): Promise<EmotionDetector<NodeInput>> {
  const recipes = { image: resolveRecipe(IMAGE_RECIPE, options.image), stream: resolveRecipe(VIDEO_RECIPE, options.stream) };
  await initNodeBackend({ backend: options.backend ?? 'auto' });
  const model = typeof options.model === 'object' ? options.model : await loadModelFolder(options.model ?? bundledModelDir());
  const classifier = options.classifier ?? 'auto';
  let release = () => undefined as void;
  let native = false;
  if (classifier !== 'tfjs') {
    // @emodetect/native is optional (it builds a C++ library against oneDNN at install time).
    const lib = await import('@emodetect/native').catch(() => null);
    const status = lib?.nativeStatus() ?? { available: false, reason: '@emodetect/native is not installed' };
    let why = status.reason;
    if (lib && status.available) {
      try {
        lib.nativeSpec(model.model);
      } catch (e) {
        why = (e as Error).message;
      }
    }
    if (lib && !why) {
      const runtime = lib.useNativeInference(model, { batchSize: 64 });
      release = () => runtime.dispose();
      native = true;
    } else if (classifier === 'native') throw new Error(`emodetect: the native classifier cannot run: ${why}`);
  }
  if (!native) useFoldedInference(model);
  const needed = [...new Set([...recipeModels(recipes.image), ...recipeModels(recipes.stream)])];
  // At least 10 per detector call: the pipeline then keeps the largest maxFaces.
  const maxFaces = Math.max(recipes.image.maxFaces, recipes.stream.maxFaces, 10);
  const minScore = Math.min(recipes.image.minScore, recipes.stream.minScore);
  const detectors = await Promise.all(needed.map((m) => createNodeFaceDetector({ model: m, maxFaces, minScore })));
  const bases = Object.fromEntries(needed.map((m, i) => [m, detectors[i]]));
  return createCore(model, bases, recipes, pixels, release);
}
