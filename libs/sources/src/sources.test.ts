import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '@emodetect/backend/node';
import { DataError, DEFAULT_CROP, splitIndices, type ImageDataset } from '@emodetect/preprocess';
import { requireExpw } from '../../../tools/test-data.ts';
import { createPhotoDetector, holdOutGroups, mixSources, parseLabelledPhotos, pickFace, readPhotoFaces } from './node.ts';

const CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'];
const INPUT = { height: 48, width: 48, channels: 1 as const, mean: 0, std: 1 };

/** A dataset of `n` 2x2 images whose first pixel is their own number. */
function tiny(n: number, splitNames: string[], split: (i: number) => number): ImageDataset {
  return {
    width: 2,
    height: 2,
    count: n,
    pixels: Uint8Array.from({ length: n * 4 }, (_, j) => (j % 4 === 0 ? j / 4 : 0)),
    labels: Uint8Array.from({ length: n }, (_, i) => i % 7),
    classNames: CLASSES,
    splits: Uint8Array.from({ length: n }, (_, i) => split(i)),
    splitNames,
    origins: Array.from({ length: n }, (_, i) => `x:${i}`),
    rowIds: Int32Array.from({ length: n }, (_, i) => i),
  };
}

describe('labelled photo lists', () => {
  it('reads names or indices, optional split, group and box', () => {
    const rows = parseLabelledPhotos(
      'file,emotion,split,photo,box_x,box_y,box_width,box_height\na.jpg,happy,train,p1,1,2,30,40\nb.jpg,0,test,p2,,,,\n',
      'l.csv',
      CLASSES,
    );
    expect(rows).toEqual([
      { file: 'a.jpg', label: 3, split: 'train', group: 'p1', box: { x: 1, y: 2, width: 30, height: 40 } },
      { file: 'b.jpg', label: 0, split: 'test', group: 'p2' },
    ]);
  });
  it('names the file and line of a bad row', () => {
    expect(() => parseLabelledPhotos('file,emotion\na.jpg,bored\n', 'l.csv', CLASSES)).toThrow(/l\.csv: line 2: unknown emotion "bored"/);
    expect(() => parseLabelledPhotos('name,label\n', 'l.csv', CLASSES)).toThrow(DataError);
  });
});

describe('pickFace', () => {
  const face = (x: number, y: number, s: number) => ({ box: { x, y, width: s, height: s }, score: 0.9, keypoints: [] });
  it('takes the detection nearest the labelled box, or the largest', () => {
    const faces = [face(0, 0, 50), face(60, 60, 30), face(100, 100, 20)];
    expect(pickFace(faces, { x: 55, y: 55, width: 40, height: 40 })).toBe(faces[1]);
    expect(pickFace(faces)).toBe(faces[0]);
    expect(pickFace(faces, { x: 200, y: 200, width: 10, height: 10 })).toBeNull();
  });
});

describe('holdOutGroups', () => {
  it('moves whole groups, stratified and seeded, into the new split', () => {
    const ds = tiny(140, ['train', 'test'], (i) => (i < 126 ? 0 : 1));
    const groups = Array.from({ length: 140 }, (_, i) => `g${Math.floor(i / 14)}-${i % 7}`);
    const out = holdOutGroups(ds, groups, 'train', 'val', 0.2, 1);
    const val = splitIndices(out, 'val');
    expect(out.splitNames).toEqual(['train', 'test', 'val']);
    // Per class 9 groups of 2 faces; round(9 x 0.2) = 2 groups held out: 4 faces a class.
    expect(val.length).toBe(28);
    // Every group is wholly in one split, test is untouched, and the draw is the same for the same seed.
    for (const g of new Set(groups)) expect(new Set(groups.flatMap((x, i) => (x === g ? [out.splits[i]] : []))).size).toBe(1);
    expect(splitIndices(out, 'test')).toEqual(splitIndices(ds, 'test'));
    expect(splitIndices(holdOutGroups(ds, groups, 'train', 'val', 0.2, 1), 'val')).toEqual(val);
  });
});

describe('mixSources', () => {
  it('draws each source by its weight and keeps validation per source', () => {
    const a = tiny(70, ['Training', 'PublicTest'], (i) => (i < 56 ? 0 : 1));
    const b = tiny(28, ['train', 'val'], (i) => (i < 21 ? 0 : 1));
    const idx = (ds: ImageDataset, s: number) => Array.from({ length: ds.count }, (_, i) => i).filter((i) => ds.splits[i] === s);
    const m = mixSources(
      [
        { name: 'a', data: a, train: idx(a, 0), val: idx(a, 1), weight: 1 },
        { name: 'b', data: b, train: idx(b, 0), val: idx(b, 1), weight: 2.5 },
      ],
      1,
    );
    expect(m.data.count).toBe(98);
    expect(m.data.splitNames).toEqual(['a/Training', 'a/PublicTest', 'b/train', 'b/val']);
    // b's 21 faces twice, plus half of each class once more (3 per class: round(1.5) = 2 of 3).
    expect(m.summary.map((s) => s.perEpoch)).toEqual([56, 42 + 14]);
    expect(m.train.filter((i) => i >= 70).length).toBe(56);
    expect(m.valGroups.map((g) => [g.name, g.indices.length])).toEqual([
      ['a', 14],
      ['b', 7],
    ]);
    // Pixels follow their faces: b's face 3 is mixed face 73.
    expect(m.data.pixels[73 * 4]).toBe(3);
    expect(() => mixSources([{ name: 'a', data: a, train: [0], val: [1], weight: 0 }], 1)).toThrow(/weight must be > 0/);
  });
});

describe('readPhotoFaces (ExpW, through the real detector)', () => {
  it('finds and cuts the faces of labelled photos, then reads them from its cache', async () => {
    const labels = requireExpw();
    await initNodeBackend({ backend: 'wasm' });
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'emodetect-sources-'));
    try {
      // 28 photos (4 per class) listed by a CSV of our own that points into the shared folder.
      const lines = (await fs.readFile(labels, 'utf8')).trim().split('\n');
      const picked = CLASSES.flatMap((c) => lines.filter((l) => l.split(',')[1] === c).slice(0, 4));
      const root = path.join(path.dirname(labels), 'images');
      const csv = path.join(dir, 'list.csv');
      await fs.writeFile(csv, [lines[0], ...picked.map((l) => `${path.join(root, l.split(',')[0])}${l.slice(l.indexOf(','))}`)].join('\n'));
      const photo = await createPhotoDetector();
      const opts = {
        detector: photo.detector,
        detectorKey: photo.key,
        input: INPUT,
        crop: DEFAULT_CROP,
        cacheDir: path.join(dir, 'cache'),
      };
      const t0 = performance.now();
      const first = await readPhotoFaces(csv, opts);
      const firstMs = performance.now() - t0;
      expect(first.fromCache).toBe(false);
      expect(first.photos).toBe(28);
      // ExpW's faces are centred and large: the detector finds nearly all of them.
      expect(first.data.count).toBeGreaterThanOrEqual(24);
      expect(first.data.count + first.missed.length).toBe(28);
      expect(first.data.pixels.length).toBe(first.data.count * 48 * 48);
      // A face crop is not a flat image.
      const face = first.data.pixels.subarray(0, 2304);
      expect(Math.max(...face) - Math.min(...face)).toBeGreaterThan(60);
      const t1 = performance.now();
      const again = await readPhotoFaces(csv, opts);
      expect(again.fromCache).toBe(true);
      expect(performance.now() - t1).toBeLessThan(firstMs);
      expect(Buffer.from(again.data.pixels).equals(Buffer.from(first.data.pixels))).toBe(true);
      expect(Array.from(again.data.labels)).toEqual(Array.from(first.data.labels));
      photo.dispose();
    } finally {
      await fs.rm(dir, { recursive: true, force: true });
    }
  });
});
