/**
 * @emodetect/backend: which tfjs backend runs, and the project's own training kernels.
 *
 * Import this library (and call {@link initBackend}) before any model code runs. Order of
 * preference for `auto`: tfjs-node (native, when installed and loadable) → WebGPU (when an adapter
 * exists) → wasm → cpu. Node-specific set-up (tfjs-node, the wasm binaries' location) lives in
 * `@emodetect/backend/node`.
 */
import * as tf from '@tensorflow/tfjs';
import { registerDeviceGradients, registerWasmTrainingKernels } from './kernels.ts';

/** Names accepted by {@link initBackend}. `node` is `@tensorflow/tfjs-node` (tfjs name `tensorflow`). */
export type BackendName = 'auto' | 'node' | 'webgpu' | 'wasm' | 'webgl' | 'cpu';
export const BACKEND_NAMES: readonly BackendName[] = ['auto', 'node', 'webgpu', 'wasm', 'webgl', 'cpu'];

export interface BackendOptions {
  /** Which backend to use; `auto` (default) picks the fastest that works. */
  backend?: BackendName;
  /** URL or folder prefix of tfjs-backend-wasm's `.wasm` files (browser apps serve them). */
  wasmPath?: string;
  /**
   * Loaders for optional backends, injected by the platform entry point (Node: tfjs-node).
   * Each resolves when the backend is registered with tfjs, or rejects with the reason.
   */
  loaders?: Partial<Record<'node' | 'webgpu', () => Promise<void>>>;
}

export interface BackendInfo {
  /** The name the user asked for. */
  requested: BackendName;
  /** The backend now active, by this library's name (`node`, `webgpu`, `wasm`, `webgl`, `cpu`): pass it on as is. */
  backend: Exclude<BackendName, 'auto'>;
  /** The same, by tfjs' name (`tensorflow` for `node`), as `tf.getBackend()` reports it. */
  name: string;
  /** Backends tried before it and why each was passed over. */
  skipped: { backend: BackendName; reason: string }[];
  /** Whether this toolkit's own training kernels are registered for it. */
  customKernels: boolean;
}

/** Thrown when an explicitly requested backend cannot run; the message is one line for users. */
export class BackendError extends Error {
  override name = 'BackendError';
}

const TFJS_NAME: Record<Exclude<BackendName, 'auto'>, string> = {
  node: 'tensorflow',
  webgpu: 'webgpu',
  wasm: 'wasm',
  webgl: 'webgl',
  cpu: 'cpu',
};

async function loadWasm(wasmPath: string | undefined): Promise<void> {
  const wasm = await import('@tensorflow/tfjs-backend-wasm');
  if (wasmPath) wasm.setWasmPaths(wasmPath.endsWith('/') || wasmPath.endsWith('.wasm') ? wasmPath : `${wasmPath}/`);
  registerWasmTrainingKernels();
}

async function loadWebgpu(): Promise<void> {
  const nav = (globalThis as { navigator?: { gpu?: { requestAdapter(): Promise<unknown> } } }).navigator;
  if (!nav?.gpu) throw new Error('no navigator.gpu (WebGPU is not available here)');
  const adapter = await nav.gpu.requestAdapter();
  if (!adapter) throw new Error('navigator.gpu found no adapter');
  await import('@tensorflow/tfjs-backend-webgpu');
}

async function tryBackend(name: Exclude<BackendName, 'auto'>, opts: BackendOptions): Promise<void> {
  if (name === 'wasm') await loadWasm(opts.wasmPath);
  else if (name === 'webgpu') await (opts.loaders?.webgpu ?? loadWebgpu)();
  else if (name === 'node') {
    const load = opts.loaders?.node;
    if (!load) throw new Error('@tensorflow/tfjs-node is only available from @emodetect/backend/node');
    await load();
  }
  const ok = await tf.setBackend(TFJS_NAME[name]);
  if (!ok) throw new Error(`tfjs could not initialise the ${name} backend`);
  await tf.ready();
}

function reasonOf(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0] ?? msg;
}

/**
 * Select and initialise a tfjs backend, register the toolkit's kernels and gradients, and return
 * what was chosen. With an explicit name, failure throws {@link BackendError}; with `auto` it falls
 * through the list and records why each candidate was skipped.
 */
export async function initBackend(opts: BackendOptions = {}): Promise<BackendInfo> {
  const requested = opts.backend ?? 'auto';
  registerDeviceGradients();
  const candidates: Exclude<BackendName, 'auto'>[] = requested === 'auto' ? ['node', 'webgpu', 'wasm', 'cpu'] : [requested];
  const skipped: BackendInfo['skipped'] = [];
  for (const name of candidates) {
    try {
      await tryBackend(name, opts);
      return { requested, backend: name, name: tf.getBackend(), skipped, customKernels: name === 'wasm' };
    } catch (e) {
      if (requested !== 'auto') throw new BackendError(`backend "${name}" is not available: ${reasonOf(e)}`);
      skipped.push({ backend: name, reason: reasonOf(e) });
    }
  }
  throw new BackendError(`no tfjs backend could start (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})`);
}

/** One line describing the active backend, for logs and CLIs. */
export function describeBackend(info: BackendInfo): string {
  const extra = info.customKernels ? ' + emodetect training kernels' : '';
  return `backend: ${info.name}${extra}${info.requested === 'auto' ? ' (auto)' : ''}`;
}
