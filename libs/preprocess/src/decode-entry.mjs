// Entry of the image decoder's thread: the sources are TypeScript, compiled on the fly by tsx.
import { register } from 'tsx/esm/api';

register();
await import('./decode-worker.ts');
