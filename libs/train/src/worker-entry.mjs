// Entry of a training worker thread. A built package holds worker.js beside this file; in the
// workspace the sources are TypeScript, compiled on the fly by tsx.
import { existsSync } from 'node:fs';

if (existsSync(new URL('./worker.js', import.meta.url))) await import('./worker.js');
else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('./worker.ts');
}
