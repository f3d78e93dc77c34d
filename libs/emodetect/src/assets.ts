/**
 * What a browser app serves for emodetect, copied from the installed packages into one folder:
 * the default and live models (weights, metadata, card), the face detector's weights and tfjs'
 * wasm binaries, with the `manifest.json` that `createEmotionDetector({ assets })` reads.
 *
 *   npx emodetect-assets public/emodetect     (then: createEmotionDetector({ assets: '/emodetect' }))
 *
 * Node only. Nothing is downloaded: every file comes from an npm package on disk.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { bundledDetectorPath } from '@emodetect/face-detect/node';
import { bundledModelDir, DEFAULT_MODEL_NAME, LIVE_MODEL_NAME } from '@emodetect/model/node';

/** The file `createEmotionDetector({ assets })` reads first: where the rest lies. */
export interface AssetsManifest {
  model: string;
  liveModel: string;
  detector: string;
}

export interface CopyAssetsOptions {
  /** Model folder or bundled model name for photos (default: fer-base). */
  model?: string;
  /** Model folder or bundled model name for live video (default: fer-tiny). */
  liveModel?: string;
}

const MARK = 'manifest.json';

async function copyFiles(fromDir: string, names: readonly string[], toDir: string): Promise<number> {
  await fs.mkdir(toDir, { recursive: true });
  let bytes = 0;
  for (const name of names) {
    const from = path.join(fromDir, name);
    const stat = await fs.stat(from).catch(() => null);
    if (!stat?.isFile()) throw new Error(`emodetect-assets: cannot read ${from}`);
    await fs.copyFile(from, path.join(toDir, name));
    bytes += stat.size;
  }
  return bytes;
}

function modelDir(nameOrDir: string): string {
  return nameOrDir.includes('/') || nameOrDir.includes(path.sep) ? path.resolve(nameOrDir) : bundledModelDir(nameOrDir);
}

/**
 * Copy the assets into `out` and write its manifest. `out` must be new, empty, or an earlier
 * assets folder (it holds a manifest.json): nothing else is ever written over.
 */
export async function copyAssets(out: string, opts: CopyAssetsOptions = {}): Promise<{ bytes: number; manifest: AssetsManifest }> {
  const existing = await fs.readdir(out).catch((e: NodeJS.ErrnoException): string[] => {
    if (e.code === 'ENOENT') return [];
    throw new Error(`emodetect-assets: ${out}: ${e.code === 'ENOTDIR' ? 'is a file, not a folder' : (e.code ?? e.message)}`);
  });
  if (existing.length && !existing.includes(MARK))
    throw new Error(`emodetect-assets: ${out} holds other files (${existing.slice(0, 3).join(', ')}); choose a new or empty folder`);
  let bytes = 0;
  const models: Record<'model' | 'liveModel', string> = { model: '', liveModel: '' };
  for (const [key, name] of [
    ['model', opts.model ?? DEFAULT_MODEL_NAME],
    ['liveModel', opts.liveModel ?? LIVE_MODEL_NAME],
  ] as const) {
    const dir = modelDir(name);
    const files = await fs.readdir(dir).catch(() => {
      throw new Error(`emodetect-assets: model folder ${dir} not found`);
    });
    if (!files.includes('model.json')) throw new Error(`emodetect-assets: ${dir} is not a model folder (no model.json)`);
    bytes += await copyFiles(dir, files, path.join(out, 'models', path.basename(dir)));
    models[key] = `models/${path.basename(dir)}`;
  }
  for (const kind of ['short', 'full'] as const) {
    const json = bundledDetectorPath(kind);
    const m = JSON.parse(await fs.readFile(json, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    bytes += await copyFiles(
      path.dirname(json),
      [path.basename(json), ...m.weightsManifest.flatMap((g) => g.paths)],
      path.join(out, 'detector'),
    );
  }
  const wasm = path.join(path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  bytes += await copyFiles(
    wasm,
    (await fs.readdir(wasm)).filter((f) => f.endsWith('.wasm')),
    path.join(out, 'tfjs-wasm'),
  );
  const manifest: AssetsManifest = { ...models, detector: 'detector' };
  await fs.writeFile(path.join(out, MARK), JSON.stringify(manifest, null, 2) + '\n');
  return { bytes, manifest };
}
