/**
 * Smoke test of bench:accuracy on the first 300 PrivateTest faces. It guards the anchors' input
 * handling: a wrong scale, size or channel order drops face-api.js and Human towards chance, far
 * below what they score with the input they expect.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '@emodetect/backend/node';
import { bundledModelDir, DEFAULT_MODEL_NAME } from '@emodetect/model/node';
import { readFer2013 } from '@emodetect/preprocess/node';
import { requireFer2013 } from '../../../tools/test-data.ts';
import { accuracyMarkdown, benchAccuracy, type AccuracyBenchResult } from './accuracy.ts';

let result: AccuracyBenchResult;

beforeAll(async () => {
  await initNodeBackend({ backend: 'wasm' });
  const ds = await readFer2013(requireFer2013());
  result = await benchAccuracy(ds, { models: [bundledModelDir()], limit: 300, latencyReps: 5, batch: 16 });
});

describe('bench:accuracy (quick)', () => {
  it('measures ours, face-api.js and Human on the same faces', () => {
    expect(result.rows.map((r) => r.name)).toEqual([`emodetect ${DEFAULT_MODEL_NAME}`, 'face-api.js expression', 'Human emotion']);
    expect(result.faces).toBe(300);
    for (const r of result.rows) {
      expect(r.privateTest.n).toBe(300);
      expect(r.privateTestDedup.n).toBe(300 - result.duplicatesRemoved);
      expect(r.msPerFace.batch1P50).toBeGreaterThan(0);
      expect(Number.isFinite(r.msPerFace.batched)).toBe(true);
      expect(Object.keys(r.privateTest.f1)).toHaveLength(7);
    }
    expect(result.duplicatesRemoved).toBeGreaterThan(0);
  });

  it('feeds each anchor the input it expects (well above chance, near their full-set accuracy)', () => {
    const acc = Object.fromEntries(result.rows.map((r) => [r.name, r.privateTest.accuracy]));
    // On all 3,589 faces: face-api.js 58.9%, Human 66.6% (wasm, measured by the workplace).
    expect(acc['face-api.js expression']).toBeGreaterThan(0.5);
    expect(acc['Human emotion']).toBeGreaterThan(0.55);
    expect(acc[`emodetect ${DEFAULT_MODEL_NAME}`]).toBeGreaterThan(0.45);
  });

  it('prints a Markdown table with the measured rows and the published figures apart', () => {
    const md = accuracyMarkdown(result, 'npx nx run bench:accuracy -- --quick');
    for (const r of result.rows) expect(md).toContain(`| ${r.name} |`);
    expect(md).toContain('Published figures (not measured here');
    expect(md).toContain('npx nx run bench:accuracy -- --quick');
  });
});
