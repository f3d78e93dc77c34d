// Entry of the image decoder's thread. A built package holds decode-worker.js beside this file; in
// the workspace the sources are TypeScript, compiled on the fly by tsx.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./decode-worker.js', import.meta.url))) await import('./decode-worker.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./decode-worker.ts');
}
