import { describe, expect, it } from 'vitest';
import type { FaceClassifier } from './anchors.ts';
import { benchRobust, PERTURBATIONS, perturbFaces, robustMarkdown, robustSummary } from './robust.ts';

/** n 48x48 faces: a bright blob on a darker background, moved face by face. */
function faces(n: number): Uint8Array {
  const px = new Uint8Array(n * 2304);
  for (let i = 0; i < n; i++)
    for (let y = 0; y < 48; y++)
      for (let x = 0; x < 48; x++)
        px[i * 2304 + y * 48 + x] = (x - 20 - (i % 8)) ** 2 + (y - 24) ** 2 < 100 ? 200 : 60 + ((x * 7 + y * 3) % 40);
  return px;
}

/** A classifier that answers from the mean brightness of the face's middle: it has something to lose. */
const brightness: FaceClassifier = {
  name: 'brightness',
  source: 'test',
  parameters: 0,
  input: '48x48',
  async classify(pixels, n) {
    const out = new Float32Array(n * 7);
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let y = 16; y < 32; y++) for (let x = 16; x < 32; x++) s += pixels[i * 2304 + y * 48 + x];
      out[i * 7 + Math.min(6, Math.floor(s / 256 / 36))] = 1;
    }
    return out;
  },
  dispose: () => undefined,
};
const constant: FaceClassifier = {
  ...brightness,
  name: 'constant',
  classify: async (_, n) => Float32Array.from({ length: n * 7 }, (_, j) => (j % 7 === 3 ? 1 : 0)),
};

describe('bench:robust', () => {
  it('has the 16 degradations of issue 25 after the clean row; each changes the faces, the same way every time', () => {
    expect(PERTURBATIONS.map((p) => p.name)).toHaveLength(17);
    expect(new Set(PERTURBATIONS.map((p) => p.group))).toEqual(new Set(['clean', 'lighting', 'pose', 'occlusion', 'quality']));
    const px = faces(4);
    for (const p of PERTURBATIONS) {
      const a = perturbFaces(px, 4, p);
      expect(Buffer.from(a).equals(Buffer.from(perturbFaces(px, 4, p)))).toBe(true);
      expect(Buffer.from(a).equals(Buffer.from(px))).toBe(p.name === 'clean');
    }
  });
  it('reports accuracy, the drop from clean and collapses, per model', async () => {
    const n = 16;
    const px = faces(n);
    const labels = Array.from(await brightness.classify(px, n)).flatMap((v, j) => (v === 1 ? [j % 7] : []));
    const r = await benchRobust({ name: 'toy', pixels: px, labels, n }, [brightness, constant]);
    expect(r.rows).toHaveLength(17);
    expect(r.rows[0].cells[0].accuracy).toBe(1);
    const dark = r.rows.find((x) => x.perturbation === 'brightness -40%')!;
    expect(dark.cells[0].accuracy).toBeLessThan(1);
    const md = robustMarkdown(r);
    expect(md).toMatch(/\| brightness -40% \| (\*\*)?[\d.]+% \(−[\d.]+\) \//);
    expect(md).toMatch(/100% "happy"/);
    const s = robustSummary(r, 1);
    expect(s.rows).toBe(17);
    // The constant model never drops: its drop is no larger than the other's anywhere.
    expect(s.dropWorse).toEqual([]);
  });
});

describe('robust-merge', () => {
  it('appends models measured later and replaces a row measured again; later files win', async () => {
    const { mergeRobust } = await import('./robust-merge.ts');
    const cell = (accuracy: number) => ({ accuracy, macroF1: accuracy, predicted: new Array(7).fill(1 / 7) });
    const rows = (names: string[], acc: number[]) => names.map((perturbation) => ({ perturbation, group: 'x', cells: acc.map(cell) }));
    const all = PERTURBATIONS.map((p) => p.name);
    const a = { set: 's', n: 5, models: ['emodetect old', 'Human'], rows: rows(all, [0.5, 0.4]) };
    const b = { set: 's', n: 5, models: ['emodetect new'], rows: rows(all, [0.6]) };
    const fix = { set: 's', n: 5, models: ['Human'], rows: rows(['clean', 'blur σ1.5'], [0.45]) };
    const [m] = mergeRobust([[a], [b], [fix]]);
    expect(m.models).toEqual(['emodetect old', 'Human', 'emodetect new']);
    expect(m.rows).toHaveLength(17);
    const blur = m.rows.find((r) => r.perturbation === 'blur σ1.5')!;
    expect(blur.cells.map((c) => c.accuracy)).toEqual([0.5, 0.45, 0.6]);
    expect(() => mergeRobust([[a], [{ ...b, n: 6 }]])).toThrow(/5 faces in one file and 6 in another/);
  });
});
