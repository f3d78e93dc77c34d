// Entry of a training worker thread: the sources are TypeScript, compiled on the fly by tsx.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
