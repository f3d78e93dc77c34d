/** Node entry point of @emodetect/face-detect: the detector's model files read from disk. */
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileModelHandler } from '@emodetect/backend/node';
import { combineDetectors, createFaceDetector, type DetectorModel, type FaceDetector, type FaceDetectorConfig } from './index.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);

/** Path of a detector's model.json inside the @emodetect/detector-weights package. */
export function bundledDetectorPath(model: DetectorModel = 'short'): string {
  const dir = path.dirname(require.resolve('@emodetect/detector-weights/package.json'));
  return path.join(dir, 'models', `facemesh-detection-${model}.json`);
}

/**
 * {@link createFaceDetector} with the model files from disk (the bundled ones by default).
 * `both` runs the short- and full-range detectors and merges their faces ({@link combineDetectors}).
 */
export async function createNodeFaceDetector(
  config: Partial<Omit<FaceDetectorConfig, 'model'>> & { model?: DetectorModel | 'both' } = {},
): Promise<FaceDetector> {
  const model = config.model ?? 'short';
  if (model === 'both') {
    if (config.modelUrl) throw new Error("createNodeFaceDetector: a modelUrl cannot serve model 'both'");
    const { modelUrl: _unused, ...rest } = config;
    return combineDetectors(await Promise.all((['short', 'full'] as const).map((m) => createNodeFaceDetector({ ...rest, model: m }))));
  }
  return createFaceDetector({ ...config, model, modelUrl: config.modelUrl ?? fileModelHandler(bundledDetectorPath(model)) });
}
