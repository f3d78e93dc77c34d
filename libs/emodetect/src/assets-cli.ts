#!/usr/bin/env node
/** `emodetect-assets <folder> [--model name|dir] [--live-model name|dir]`: see assets.ts. */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { copyAssets } from './assets.ts';

const USAGE = 'usage: emodetect-assets <folder> [--model <name|dir>] [--live-model <name|dir>]';
try {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { model: { type: 'string' }, 'live-model': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\nCopies the models, the face detector and tfjs' wasm files that a page serves for emodetect.\n`);
  } else if (positionals.length !== 1) {
    process.stderr.write(`${USAGE}\n`);
    process.exitCode = 2;
  } else {
    const out = positionals[0]!;
    const { bytes, manifest } = await copyAssets(out, { model: values.model, liveModel: values['live-model'] });
    process.stderr.write(
      `emodetect-assets: ${(bytes / 1e6).toFixed(1)} MB into ${path.relative(process.cwd(), out) || '.'} (${manifest.model}, ${manifest.liveModel}, face detector, tfjs wasm)\n`,
    );
  }
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
