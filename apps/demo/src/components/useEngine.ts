'use client';
import { useEffect, useState } from 'react';
import { Engine } from '../engine/client.ts';
import type { BackendName } from '../engine/protocol.ts';

export type EngineState = { kind: 'loading' } | { kind: 'ready'; engine: Engine } | { kind: 'error'; message: string };

/**
 * Start the inference worker for `backend` (restarted when it changes, stopped on unmount;
 * nothing starts while it is null).
 */
export function useEngine(backend: BackendName | null, detector: 'short' | 'full' = 'short', attempt = 0): EngineState {
  const [state, setState] = useState<EngineState>({ kind: 'loading' });
  useEffect(() => {
    if (backend === null) return;
    let engine: Engine | null = null;
    let cancelled = false;
    setState({ kind: 'loading' });
    Engine.start({ backend, detector, assets: new URL('/assets', window.location.href).href })
      .then((e) => {
        if (cancelled) e.terminate();
        else {
          engine = e;
          setState({ kind: 'ready', engine: e });
        }
      })
      .catch((e: unknown) => {
        if (!cancelled) setState({ kind: 'error', message: e instanceof Error ? e.message : String(e) });
      });
    return () => {
      cancelled = true;
      engine?.terminate();
    };
  }, [backend, detector, attempt]);
  return state;
}

export const BACKEND_CHOICES: { value: BackendName; label: string }[] = [
  { value: 'auto', label: 'auto' },
  { value: 'webgpu', label: 'WebGPU' },
  { value: 'webgl', label: 'WebGL' },
  { value: 'wasm', label: 'wasm (CPU)' },
  { value: 'cpu', label: 'plain JS (slow)' },
];

/** The backend named by the page's `?backend=` parameter, if it is a valid choice. */
export function backendFromQuery(): BackendName | null {
  const b = new URLSearchParams(window.location.search).get('backend');
  return BACKEND_CHOICES.find((c) => c.value === b)?.value ?? null;
}
