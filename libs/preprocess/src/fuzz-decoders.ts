/**
 * Fuzz pass over the image decoders (run as a child process by fuzz.test.ts, so that a hang or a
 * runaway allocation ends this process, never the test runner):
 *
 *   node --import tsx libs/preprocess/src/fuzz-decoders.ts <cases-per-format> <seed>
 *
 * For each format (PNG, JPEG, BMP, TIFF, GIF) a small valid image is written with jimp, then mutated
 * `cases` times: truncated at a random length, random bits flipped, or its header's size fields
 * overwritten with large values. Each mutant goes through `decodeImageFileRgba`, which must either
 * decode it or reject it with a DataError, within a time limit per file. Prints one JSON line:
 * { cases, decoded, refused, failures: [...], slowestMs, peakRssMb }.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Jimp } from 'jimp';
import { decodeImageFileRgba } from './node.ts';

const cases = Number(process.argv[2] ?? 200);
let seed = Number(process.argv[3] ?? 1) >>> 0;
const rand = () => {
  seed = (Math.imul(seed ^ (seed >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
  return seed / 4294967296;
};
const int = (n: number) => Math.floor(rand() * n);

const FORMATS = ['png', 'jpeg', 'bmp', 'tiff', 'gif'] as const;
const MIME = { png: 'image/png', jpeg: 'image/jpeg', bmp: 'image/bmp', tiff: 'image/tiff', gif: 'image/gif' } as const;
// The decoder's own limit is 5 s plus 1 s per megapixel (its thread is stopped then): a file
// that takes much longer than that means the limit does not work.
const PER_FILE_MS = 9000;

function mutate(src: Buffer): Buffer {
  const b = Buffer.from(src);
  switch (int(3)) {
    case 0:
      return b.subarray(0, int(b.length));
    case 1: {
      const flips = 1 + int(8);
      for (let i = 0; i < flips; i++) b[int(b.length)] ^= 1 << int(8);
      return b;
    }
    default: {
      // Large values where headers keep sizes (the first 64 bytes), little- or big-endian.
      const o = int(Math.min(60, b.length - 4));
      const v = [0xffff, 0x7fff, 20000, 65535 * 2, 0x7fffffff][int(5)];
      if (rand() < 0.5) b.writeUInt32BE(v >>> 0, o);
      else b.writeUInt32LE(v >>> 0, o);
      return b;
    }
  }
}

const dir = await mkdtemp(path.join(tmpdir(), 'emodetect-fuzz-'));
const failures: string[] = [];
let decoded = 0;
let refused = 0;
let slowest = 0;
let peakRss = 0;
let peakCase = '';
// The resident memory of the whole process (decoder thread included), sampled while files decode.
let casePeak = 0;
const sampler = setInterval(() => (casePeak = Math.max(casePeak, process.memoryUsage().rss)), 10);
try {
  for (const format of FORMATS) {
    const img = new Jimp({ width: 40, height: 30, color: 0x336699ff });
    for (let i = 0; i < 40 * 30 * 4; i += 4) img.bitmap.data[i] = (i * 7) % 256;
    const valid = await img.getBuffer(MIME[format]);
    for (let c = 0; c < cases; c++) {
      const file = path.join(dir, `${format}-${c}.${format === 'jpeg' ? 'jpg' : format === 'tiff' ? 'tif' : format}`);
      await writeFile(file, mutate(valid));
      const t0 = performance.now();
      try {
        const out = await decodeImageFileRgba(file);
        if (out.data.length !== out.width * out.height * 4)
          failures.push(`${format} #${c}: decoded with ${out.data.length} bytes for ${out.width}x${out.height}`);
        decoded++;
      } catch (e) {
        if (e instanceof Error && e.name === 'DataError' && e.message.startsWith(file)) refused++;
        else failures.push(`${format} #${c}: ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`.slice(0, 300));
      }
      const ms = performance.now() - t0;
      slowest = Math.max(slowest, ms);
      if (ms > PER_FILE_MS) failures.push(`${format} #${c}: took ${ms.toFixed(0)} ms`);
      if (casePeak > peakRss) {
        peakRss = casePeak;
        peakCase = `${format} #${c}`;
      }
      casePeak = 0;
    }
  }
} finally {
  clearInterval(sampler);
  await rm(dir, { recursive: true, force: true });
}
process.stdout.write(
  JSON.stringify({
    cases: cases * FORMATS.length,
    decoded,
    refused,
    failures,
    slowestMs: Math.round(slowest),
    peakRssMb: Math.round(peakRss / 2 ** 20),
    peakCase,
  }) + '\n',
);
