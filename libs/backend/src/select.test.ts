import { describe, expect, it } from 'vitest';
import { BackendError } from './index.ts';
import { initNodeBackend } from './node.ts';

describe('backend selection', () => {
  it('auto picks a working backend and says why others were skipped', async () => {
    const info = await initNodeBackend({ backend: 'auto' });
    expect(['tensorflow', 'webgpu', 'wasm']).toContain(info.name);
    if (info.name === 'wasm') {
      expect(info.skipped.map((s) => s.backend)).toEqual(['node', 'webgpu']);
      expect(info.customKernels).toBe(true);
    }
  });

  it('an explicitly requested backend that cannot start is a one-line BackendError', async () => {
    const failing = initNodeBackend({ backend: 'webgpu', loaders: { webgpu: async () => Promise.reject(new Error('no adapter')) } });
    await expect(failing).rejects.toBeInstanceOf(BackendError);
    await expect(failing).rejects.toThrow(/backend "webgpu" is not available: no adapter/);
  });
});
