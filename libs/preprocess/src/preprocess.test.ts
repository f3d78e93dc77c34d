import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jimp } from 'jimp';
import { requireFer2013 } from '../../../tools/test-data.ts';
import {
  DataError,
  FER2013_CLASSES,
  applyFerPlus,
  decodeImageFile,
  sniffImageSize,
  prepareInput,
  readFer2013,
  readFerPlus,
  readImageFolder,
  resizeGray,
  rgbaToGray,
  splitIndices,
  pixelDuplicates,
  readFer2013U8,
} from './node.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'emodetect-pre-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const row = (label: number | string, px: number[] | string, usage = 'Training') =>
  `${label},${Array.isArray(px) ? px.join(' ') : px},${usage}`;
const face = (v: number, n = 2304) => Array.from({ length: n }, (_, i) => (v + i) % 256);

describe('pixels', () => {
  it('converts RGBA to BT.601 luma', () => {
    const g = rgbaToGray({ width: 3, height: 1, data: new Uint8Array([255, 0, 0, 255, 0, 255, 0, 255, 0, 0, 255, 0]) });
    expect(Array.from(g.data)).toEqual([76, 150, 29]);
  });

  it('resizes a constant image to the same constant, and crops', () => {
    const img = { width: 100, height: 80, data: new Uint8Array(8000).fill(77) };
    expect(resizeGray(img, 48, 48).data.every((v) => v === 77)).toBe(true);
    const ramp = { width: 4, height: 1, data: new Uint8Array([0, 100, 200, 250]) };
    expect(Array.from(resizeGray(ramp, 2, 1, { x: 2, y: 0, width: 2, height: 1 }).data)).toEqual([200, 250]);
  });

  it('prepareInput yields 48x48 values in 0..1 following the input config', () => {
    const rgba = { width: 96, height: 96, data: new Uint8ClampedArray(96 * 96 * 4).fill(255) };
    const x = prepareInput(rgba, { width: 48, height: 48, channels: 1, mean: 0, std: 1 });
    expect(x.length).toBe(2304);
    expect(Math.min(...x)).toBe(1);
  });
});

describe('FER2013 CSV reader', () => {
  it('reads plain and gzipped CSVs with their splits', async () => {
    const text = ['emotion,pixels,Usage', row(3, face(0)), row(0, face(5), 'PublicTest'), row(6, face(9), 'PrivateTest'), ''].join('\n');
    await writeFile(path.join(dir, 'ok.csv'), text);
    await writeFile(path.join(dir, 'ok.csv.gz'), gzipSync(text));
    for (const f of ['ok.csv', 'ok.csv.gz']) {
      const ds = await readFer2013(path.join(dir, f));
      expect(ds.count).toBe(3);
      expect(Array.from(ds.labels)).toEqual([3, 0, 6]);
      expect(splitIndices(ds, 'PrivateTest')).toEqual([2]);
      expect(ds.pixels[2304 + 1]).toBe(6);
      expect(ds.classNames).toEqual([...FER2013_CLASSES]);
    }
  });

  it('names the file and row of a bad row, and --skip-bad goes on', async () => {
    const file = path.join(dir, 'bad.csv');
    await writeFile(file, ['emotion,pixels,Usage', row(3, face(0)), row(2, face(0, 2303)), row(9, face(1)), row(1, face(2))].join('\n'));
    await expect(readFer2013(file)).rejects.toThrow(`${file}: row 1 (line 3): has 2303 pixel values (expected 2304)`);
    const bad: string[] = [];
    const ds = await readFer2013(file, { skipBad: true, onBadRow: (m) => bad.push(m) });
    expect(ds.count).toBe(2);
    expect(Array.from(ds.rowIds)).toEqual([0, 3]);
    expect(bad).toHaveLength(2);
    expect(bad[1]).toMatch(/row 2 \(line 4\): emotion label "9" is out of range/);
  });

  it('rejects a missing file, a non-CSV and a truncated gzip with one line each', async () => {
    await expect(readFer2013(path.join(dir, 'nope.csv'))).rejects.toThrow(/nope\.csv: file not found/);
    await writeFile(path.join(dir, 'x.csv'), 'hello,world\n1,2\n');
    await expect(readFer2013(path.join(dir, 'x.csv'))).rejects.toThrow(/line 1 is not a FER2013 header/);
    const gz = gzipSync(['emotion,pixels,Usage', ...Array.from({ length: 50 }, () => row(1, face(3)))].join('\n'));
    await writeFile(path.join(dir, 'cut.csv.gz'), gz.subarray(0, gz.length >> 1));
    await expect(readFer2013(path.join(dir, 'cut.csv.gz'))).rejects.toThrow(
      /cut\.csv\.gz: (corrupt or truncated gzip data|unexpected end)/,
    );
  });
});

describe('image files and folders', () => {
  const write = async (file: string, mime: 'image/png' | 'image/jpeg' | 'image/bmp' | 'image/tiff', w = 60, h = 50) => {
    const img = new Jimp({ width: w, height: h, color: 0x808080ff });
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await img.getBuffer(mime));
  };

  it('decodes PNG, JPEG, BMP and TIFF to grayscale', async () => {
    for (const [ext, mime] of [
      ['png', 'image/png'],
      ['jpg', 'image/jpeg'],
      ['bmp', 'image/bmp'],
      ['tif', 'image/tiff'],
    ] as const) {
      const f = path.join(dir, `img.${ext}`);
      await write(f, mime);
      const g = await decodeImageFile(f);
      expect([g.width, g.height]).toEqual([60, 50]);
      expect(Math.abs(g.data[0] - 128)).toBeLessThan(3);
    }
  });

  it('reports non-images, truncated images, empty and missing files by name', async () => {
    await writeFile(path.join(dir, 'text.png'), 'not an image at all');
    await expect(decodeImageFile(path.join(dir, 'text.png'))).rejects.toThrow(/text\.png: /);
    await write(path.join(dir, 'full.png'), 'image/png');
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path.join(dir, 'full.png'));
    await writeFile(path.join(dir, 'trunc.png'), bytes.subarray(0, 40));
    await expect(decodeImageFile(path.join(dir, 'trunc.png'))).rejects.toBeInstanceOf(DataError);
    await writeFile(path.join(dir, 'empty.png'), '');
    await expect(decodeImageFile(path.join(dir, 'empty.png'))).rejects.toThrow(/empty\.png: empty file/);
    await expect(decodeImageFile(path.join(dir, 'missing.png'))).rejects.toThrow(/missing\.png: file not found/);
  });

  it('measures every format from its header before decoding: a TIFF bomb is refused in milliseconds', async () => {
    // A 4 KB little-endian TIFF whose first image is small and whose second claims 20000 x 20000
    // (Group-4 data compresses a blank page that large to a few kilobytes).
    const tiff = (sizes: [number, number][]) => {
      const b = Buffer.alloc(4096);
      b.write('II', 0, 'latin1');
      b.writeUInt16LE(42, 2);
      b.writeUInt32LE(8, 4);
      let o = 8;
      sizes.forEach(([w, h], i) => {
        b.writeUInt16LE(2, o);
        b.writeUInt16LE(256, o + 2);
        b.writeUInt16LE(4, o + 4);
        b.writeUInt32LE(1, o + 6);
        b.writeUInt32LE(w, o + 10);
        b.writeUInt16LE(257, o + 14);
        b.writeUInt16LE(4, o + 16);
        b.writeUInt32LE(1, o + 18);
        b.writeUInt32LE(h, o + 22);
        b.writeUInt32LE(i + 1 < sizes.length ? o + 30 : 0, o + 26);
        o += 30;
      });
      return b;
    };
    expect(sniffImageSize(tiff([[20000, 20000]]))).toEqual({ width: 20000, height: 20000 });
    await writeFile(
      path.join(dir, 'bomb.tif'),
      tiff([
        [64, 64],
        [20000, 20000],
      ]),
    );
    const t0 = performance.now();
    await expect(decodeImageFile(path.join(dir, 'bomb.tif'))).rejects.toThrow(
      /bomb\.tif: image is 20000x20000, larger than the 50 megapixel limit/,
    );
    expect(performance.now() - t0).toBeLessThan(1000);
    // A file whose size no header gives is not handed to a decoder.
    await writeFile(path.join(dir, 'noise.gif'), Buffer.from('GIF8'));
    await expect(decodeImageFile(path.join(dir, 'noise.gif'))).rejects.toThrow(
      /noise\.gif: not a supported image, or its header is corrupt/,
    );
  });

  it('reads the <split>/<class>/ layout and rejects unknown classes and empty folders', async () => {
    const root = path.join(dir, 'folder');
    await write(path.join(root, 'train', 'happy', 'a.png'), 'image/png', 48, 48);
    await write(path.join(root, 'train', 'Sad', 'b.jpg'), 'image/jpeg', 96, 96);
    await write(path.join(root, 'test', 'angry', 'c.png'), 'image/png');
    const ds = await readImageFolder(root);
    expect(ds.count).toBe(3);
    expect(ds.splitNames).toEqual(['test', 'train']);
    expect(Array.from(ds.labels)).toEqual([0, 3, 4]);
    await write(path.join(root, 'train', 'bored', 'd.png'), 'image/png');
    await expect(readImageFolder(root)).rejects.toThrow(/bored: unknown class folder "bored"/);
    await mkdir(path.join(dir, 'empty'), { recursive: true });
    await expect(readImageFolder(path.join(dir, 'empty'))).rejects.toThrow(/empty: no class or split folders/);
  });
});

describe('the real FER2013 and FER+ files', () => {
  it('have the official counts per split and align with FER+', async () => {
    const ds = await readFer2013(requireFer2013());
    expect(ds.count).toBe(35887);
    expect([splitIndices(ds, 'Training').length, splitIndices(ds, 'PublicTest').length, splitIndices(ds, 'PrivateTest').length]).toEqual([
      28709, 3589, 3589,
    ]);
    const fp = await readFerPlus(requireFer2013('fer2013new.csv'));
    expect(fp.majority.length).toBe(35887);
    const relabelled = applyFerPlus(ds, fp, 'soft');
    expect(relabelled.count).toBeGreaterThan(35000);
    let agree = 0;
    for (let i = 0; i < relabelled.count; i++) if (relabelled.labels[i] === ds.labels[relabelled.rowIds[i]]) agree++;
    // The dataset README measures 65.1% agreement between FER and the FER+ plurality.
    expect(agree / relabelled.count).toBeGreaterThan(0.6);
    const s = relabelled.softLabels!.subarray(0, 7).reduce((a, b) => a + b, 0);
    expect(s).toBeCloseTo(1, 5);
  });
});

describe('pixelDuplicates', () => {
  it('finds test images identical to training images, and only those', async () => {
    const ds = await readFer2013(requireFer2013());
    const dups = pixelDuplicates(ds, splitIndices(ds, 'PrivateTest'), splitIndices(ds, 'Training'));
    // The dataset README: 288 PrivateTest faces are pixel-identical to Training faces.
    expect(dups).toHaveLength(288);
    const per = 2304;
    const first = ds.pixels.subarray(dups[0] * per, dups[0] * per + per);
    const twin = splitIndices(ds, 'Training').find((t) => ds.pixels.subarray(t * per, t * per + per).every((v, i) => v === first[i]));
    expect(twin).toBeDefined();
  });
});

describe('readFer2013U8', () => {
  it("reads the compact binary form with the CSV reader's labels, splits and pixels", async () => {
    const csv = await readFer2013(path.join(dir, 'ok.csv'));
    const n = csv.count;
    const bytes = new Uint8Array(n * 2306);
    bytes.set(csv.labels, 0);
    bytes.set(csv.splits, n);
    bytes.set(csv.pixels, 2 * n);
    await writeFile(path.join(dir, 'ok.u8'), bytes);
    const u8 = await readFer2013U8(path.join(dir, 'ok.u8'));
    expect(Array.from(u8.labels)).toEqual(Array.from(csv.labels));
    expect(Array.from(u8.splits)).toEqual(Array.from(csv.splits));
    expect(Buffer.from(u8.pixels).equals(Buffer.from(csv.pixels))).toBe(true);
    await writeFile(path.join(dir, 'bad.u8'), bytes.subarray(0, 100));
    await expect(readFer2013U8(path.join(dir, 'bad.u8'))).rejects.toThrow(/bad\.u8: 100 bytes is not a whole number of FER2013 rows/);
  });
});
