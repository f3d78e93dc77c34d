#!/usr/bin/env node
// `emodetect-assets`: the built package runs src/assets-cli.js; the workspace compiles the
// TypeScript source on the fly with tsx.
import { existsSync } from 'node:fs';

if (existsSync(new URL('../src/assets-cli.js', import.meta.url))) await import('../src/assets-cli.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/assets-cli.ts');
}
