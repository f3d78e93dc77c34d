/**
 * Node entry point of @emodetect/backend: adds `@tensorflow/tfjs-node` (an optional peer
 * dependency; native TensorFlow when it is installed and loads) and points wasm at its binaries.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendOptions } from './index.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);

async function loadTfjsNode(): Promise<void> {
  try {
    require.resolve('@tensorflow/tfjs-node');
  } catch {
    throw new Error('@tensorflow/tfjs-node is not installed (optional: npm i @tensorflow/tfjs-node)');
  }
  // A computed specifier keeps bundlers from trying to resolve the optional package.
  const spec = '@tensorflow/tfjs-node';
  await import(spec);
}

/** {@link initBackend} for Node: tfjs-node first when present, wasm binaries found automatically. */
export async function initNodeBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  // Production mode: no debug checks, and no "install tfjs-node" banner on the cpu backend.
  tf.enableProdMode();
  const wasmDir = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json'));
  return initBackend({
    wasmPath: path.join(wasmDir, 'dist') + path.sep,
    ...opts,
    loaders: { node: loadTfjsNode, ...opts.loaders },
  });
}
