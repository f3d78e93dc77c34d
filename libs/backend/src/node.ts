/**
 * Node entry point of @emodetect/backend. It adds two optional peer dependencies, used when they
 * are installed and load: `@tensorflow/tfjs-node` (native TensorFlow) and `webgpu` (Dawn, for
 * tfjs' WebGPU backend on a GPU). It also points wasm at its binaries, and reads model files from
 * disk ({@link fileModelHandler}).
 */
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { initBackend, type BackendInfo, type BackendOptions } from './index.ts';

export * from './index.ts';

const require = createRequire(import.meta.url);

/** Import an optional package by a computed name, so that bundlers leave it alone. */
async function importOptional(name: string, hint: string): Promise<Record<string, unknown>> {
  try {
    require.resolve(name);
  } catch {
    throw new Error(`${name} is not installed (optional: ${hint})`);
  }
  return (await import(name)) as Record<string, unknown>;
}

async function loadTfjsNode(): Promise<void> {
  await importOptional('@tensorflow/tfjs-node', 'npm i @tensorflow/tfjs-node');
}

/** Whether this machine shows a GPU device node (NVIDIA, or a DRM render node). */
function hasGpuDevice(): boolean {
  if (existsSync('/dev/nvidia0')) return true;
  try {
    return readdirSync('/dev/dri').some((d) => d.startsWith('renderD'));
  } catch {
    return false;
  }
}

/**
 * WebGPU in Node through Dawn (the `webgpu` package): `navigator.gpu` must exist before
 * tfjs-backend-webgpu is imported, or the backend does not register.
 */
async function loadWebgpuNode(): Promise<void> {
  const g = globalThis as { navigator?: { gpu?: unknown } };
  if (!g.navigator?.gpu) {
    if (!hasGpuDevice()) throw new Error('no GPU device on this machine');
    const dawn = (await importOptional('webgpu', 'npm i webgpu')) as { create(flags: string[]): unknown; globals: object };
    Object.assign(globalThis, dawn.globals);
    Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: dawn.create([]) }, configurable: true });
  }
  const gpu = (globalThis as { navigator: { gpu: { requestAdapter(): Promise<unknown> } } }).navigator.gpu;
  if (!(await gpu.requestAdapter())) throw new Error('WebGPU found no adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
}

/** Folder of tfjs-backend-wasm's .wasm files: the installed package, or beside a bundle. */
function wasmDir(): string {
  try {
    return path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  } catch {
    return path.dirname(fileURLToPath(import.meta.url));
  }
}

/** {@link initBackend} for Node: tfjs-node, then WebGPU (Dawn), then wasm with its binaries found. */
export async function initNodeBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  // Production mode: no debug checks, and no "install tfjs-node" banner on the cpu backend.
  tf.enableProdMode();
  return initBackend({
    wasmPath: wasmDir() + path.sep,
    ...opts,
    loaders: { node: loadTfjsNode, webgpu: loadWebgpuNode, ...opts.loaders },
  });
}

/** A tfjs IOHandler that reads a graph model (model.json + weight files) from disk. */
export function fileModelHandler(jsonPath: string): tf.io.IOHandler {
  return {
    async load() {
      const json = JSON.parse(await fs.readFile(jsonPath, 'utf8')) as tf.io.ModelJSON;
      return tf.io.getModelArtifactsForJSON(json, async (manifest) => {
        const specs: tf.io.WeightsManifestEntry[] = [];
        const buffers: Buffer[] = [];
        for (const group of manifest) {
          specs.push(...group.weights);
          for (const p of group.paths) buffers.push(await fs.readFile(path.join(path.dirname(jsonPath), p)));
        }
        const all = Buffer.concat(buffers);
        return [specs, all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer];
      });
    },
  };
}
