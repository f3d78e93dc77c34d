/** Smoke test of bench:latency --quick: it runs, writes its JSON, and the frame loop does not leak. */
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { bundledModelDir, LIVE_MODEL_NAME } from '@emodetect/model/node';
import { REPO_ROOT, requireFer2013 } from '../../../tools/test-data.ts';

describe('bench:latency --quick', () => {
  it('times the classifier and whole frames, and keeps tensors flat over the frame loop', async () => {
    const out = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'bench-latency-')), 'latency.json');
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        '--import',
        'tsx',
        'apps/bench/src/latency.ts',
        '--quick',
        '--faces',
        '1,3',
        '--frames',
        '3',
        '--leak-frames',
        '60',
        // The live model, as the demo's frame loop runs it: the default model's 14 test-time views
        // made this smoke test take 110 of its 120 s under CI's parallel load (their leak check is
        // in libs/model's folded-inference test).
        '--model',
        bundledModelDir(LIVE_MODEL_NAME),
        '--data',
        requireFer2013(),
        '--out',
        out,
      ],
      { cwd: REPO_ROOT, maxBuffer: 1 << 24 },
    );
    expect(stdout).toContain('| wasm | 1 |');
    const json = JSON.parse(await fs.readFile(out, 'utf8')) as {
      results: {
        backend: string;
        classifier: { batch1: { p50: number; n: number } };
        frames: { faces: number; timing: { n: number }; total: number; matched: number; found: number; landmarkTruths: number }[];
        memory: { frames: number; before: { tensors: number }; after: { tensors: number } };
      }[];
    };
    const [r] = json.results;
    expect(r.backend).toBe('wasm');
    expect(r.classifier.batch1.n).toBe(20);
    expect(r.classifier.batch1.p50).toBeGreaterThan(0);
    expect(r.frames.map((f) => [f.faces, f.timing.n, f.total])).toEqual([
      [1, 3, 3],
      [3, 3, 9],
    ]);
    for (const f of r.frames) {
      // Ground truth from face-mesh landmarks for most faces; found counts within their totals.
      expect(f.landmarkTruths).toBeGreaterThan(0);
      expect(f.landmarkTruths).toBeLessThanOrEqual(f.total);
      expect(f.found).toBeLessThanOrEqual(f.landmarkTruths);
      expect(f.matched).toBeLessThanOrEqual(f.total);
    }
    expect(r.memory.frames).toBe(60);
    expect(r.memory.after.tensors).toBe(r.memory.before.tensors);
  });

  it('refuses bad options with one line and a non-zero exit', async () => {
    const run = promisify(execFile)(process.execPath, ['--import', 'tsx', 'apps/bench/src/latency.ts', '--detector', 'huge'], {
      cwd: REPO_ROOT,
    });
    await expect(run).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^bench:latency: --detector must be short, full or both, not huge\n$/),
    });
  });
});
