/**
 * Copy what the demo serves into public/assets, so that the page works with no internet: the
 * bundled models (with their cards and pictures), the face detector's weights and tfjs-backend-wasm's
 * binaries, through the emodetect package's own recipe (`copyAssets`, also `npx emodetect-assets`).
 * Run by `npm run build` and `npm run dev`.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { copyAssets } from 'emodetect/assets';

const out = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'public', 'assets');

try {
  // The folder is the build's own (git-ignored): it is made anew each time.
  await fs.rm(out, { recursive: true, force: true });
  const { bytes, manifest } = await copyAssets(out);
  console.log(
    `copy-assets: ${(bytes / 1e6).toFixed(1)} MB into ${path.relative(process.cwd(), out)} (${manifest.model} and ${manifest.liveModel}, face detector, tfjs wasm)`,
  );
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
