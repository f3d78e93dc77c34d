/**
 * Node entry point of @emodetect/preprocess: decoding image files (jimp) and reading datasets
 * from disk (FER2013 CSV / CSV.gz streamed, image folders, FER+ label files).
 */
import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
import { Worker } from 'node:worker_threads';
import type { DecodeReply } from './decode-worker.ts';
import { rgbaToGray, resizeGray, type GrayImage, type RgbaImage } from './image.ts';
import {
  DataError,
  FER2013_CLASSES,
  FER2013_SPLITS,
  FERPLUS_COLUMNS,
  ferPlusVotes,
  parseFer2013Header,
  parseFer2013Row,
  subset,
  type ImageDataset,
} from './dataset.ts';

export * from './index.ts';

/** Image file extensions the decoder accepts. */
export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg', '.bmp', '.tif', '.tiff', '.gif'] as const;

/** Images larger than this many pixels are refused before decoding (about 7000 x 7000). */
export const MAX_IMAGE_PIXELS = 50_000_000;

/**
 * The largest width and height among a TIFF's images (every IFD: a decoder may read them all),
 * from the header alone; null when the header is not a readable TIFF.
 */
function tiffSize(b: Uint8Array): { width: number; height: number } | null {
  if (b.length < 8) return null;
  const le = b[0] === 0x49 && b[1] === 0x49 && b[2] === 42 && b[3] === 0;
  const be = b[0] === 0x4d && b[1] === 0x4d && b[2] === 0 && b[3] === 42;
  if (!le && !be) return null;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u16 = (o: number) => dv.getUint16(o, le);
  const u32 = (o: number) => dv.getUint32(o, le);
  let width = 0;
  let height = 0;
  let ifd = u32(4);
  const seen = new Set<number>();
  while (ifd !== 0) {
    if (seen.has(ifd) || seen.size >= 64 || ifd + 2 > b.length) return seen.size ? { width, height } : null;
    seen.add(ifd);
    const n = u16(ifd);
    if (ifd + 2 + 12 * n + 4 > b.length) return null;
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + 12 * i;
      const tag = u16(e);
      if (tag !== 256 && tag !== 257) continue;
      const type = u16(e + 2);
      const value = type === 3 ? u16(e + 8) : type === 4 ? u32(e + 8) : 0;
      if (tag === 256) width = Math.max(width, value);
      else height = Math.max(height, value);
    }
    ifd = u32(ifd + 2 + 12 * n);
  }
  return width && height ? { width, height } : null;
}

/** Width and height from a PNG, JPEG, GIF, BMP or TIFF header, without decoding; null if unknown. */
export function sniffImageSize(b: Uint8Array): { width: number; height: number } | null {
  const tiff = tiffSize(b);
  if (tiff) return tiff;
  const u16be = (o: number) => (b[o] << 8) | b[o + 1];
  const u32be = (o: number) => ((b[o] << 24) >>> 0) + (b[o + 1] << 16) + (b[o + 2] << 8) + b[o + 3];
  if (b.length >= 24 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return { width: u32be(16), height: u32be(20) };
  if (b.length >= 10 && b[0] === 0x47 && b[1] === 0x49 && b[2] === 0x46) return { width: b[6] | (b[7] << 8), height: b[8] | (b[9] << 8) };
  if (b.length >= 26 && b[0] === 0x42 && b[1] === 0x4d) {
    const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
    return { width: Math.abs(dv.getInt32(18, true)), height: Math.abs(dv.getInt32(22, true)) };
  }
  if (b.length >= 4 && b[0] === 0xff && b[1] === 0xd8) {
    let o = 2;
    while (o + 9 < b.length) {
      if (b[o] !== 0xff) {
        o++;
        continue;
      }
      const marker = b[o + 1];
      if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
        return { width: u16be(o + 7), height: u16be(o + 5) };
      if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0xff) {
        o += marker === 0xff ? 1 : 2;
        continue;
      }
      o += 2 + u16be(o + 2);
    }
  }
  return null;
}

async function readImageBytes(file: string): Promise<{ bytes: Buffer; size: { width: number; height: number } }> {
  let bytes: Buffer;
  try {
    bytes = await fs.readFile(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(
      `${file}: ${code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, not an image' : `cannot read (${code})`}`,
    );
  }
  return { bytes, size: measureImage(bytes, file) };
}

/** The size an encoded image's header declares, within the limits; a DataError naming `file` otherwise. */
function measureImage(bytes: Uint8Array, file: string): { width: number; height: number } {
  if (bytes.length === 0) throw new DataError(`${file}: empty file`);
  // Every decoder's input is measured from its header first: what cannot be measured is not
  // decoded (a small file may claim billions of pixels).
  const size = sniffImageSize(bytes);
  if (!size) throw new DataError(`${file}: not a supported image, or its header is corrupt (PNG, JPEG, BMP, TIFF, GIF)`);
  if (size.width * size.height > MAX_IMAGE_PIXELS) {
    throw new DataError(`${file}: image is ${size.width}x${size.height}, larger than the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit`);
  }
  if (size.width === 0 || size.height === 0) throw new DataError(`${file}: zero-sized image (${size.width}x${size.height})`);
  return size;
}

/**
 * Decoding runs on one worker thread, started on first use and left idle between images (it does
 * not keep the process alive). A decode that takes longer than its limit (5 s plus 1 s per
 * megapixel the header declares) is taken for a decoder caught in a corrupt file: the thread is
 * stopped, the file refused, and the next image gets a fresh thread.
 */
const DECODER_HEAP_MB = 384;

class DecoderThread {
  private worker: { w: Worker; ready: Promise<void> } | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: DecodeReply) => void; reject: (e: Error) => void }>();

  private start(): { w: Worker; ready: Promise<void> } {
    // The heap limit stops a decoder that allocates without end on a corrupt file (the pixels
    // themselves live outside the heap, within MAX_IMAGE_PIXELS).
    const w = new Worker(new URL('./decode-entry.mjs', import.meta.url), { resourceLimits: { maxOldGenerationSizeMb: DECODER_HEAP_MB } });
    let ready!: () => void;
    let notReady!: (e: Error) => void;
    const started = new Promise<void>((res, rej) => ((ready = res), (notReady = rej)));
    w.on('message', (r: DecodeReply | { ready: true }) => {
      if ('ready' in r) return ready();
      this.pending.get(r.id)?.resolve(r);
      this.pending.delete(r.id);
      if (this.pending.size === 0) w.unref();
    });
    const fail = (e: Error) => {
      notReady(e);
      if (this.worker?.w === w) this.worker = null;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    };
    w.on('error', fail);
    w.on('exit', (code) => fail(new Error(`the image decoder stopped (exit code ${code})`)));
    return { w, ready: started };
  }

  /** Decode `bytes`; 'timeout' when it takes over `limitMs` (counted from when the thread is ready). */
  async decode(bytes: Uint8Array, limitMs: number): Promise<DecodeReply | 'timeout'> {
    const thread = (this.worker ??= this.start());
    const w = thread.w;
    w.ref();
    await thread.ready;
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        if (this.worker?.w === w) this.worker = null;
        void w.terminate();
        resolve('timeout');
      }, limitMs);
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          resolve(r);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      const copy = bytes.slice();
      w.postMessage({ id, bytes: copy }, [copy.buffer]);
    });
  }
}

const decoder = new DecoderThread();

/** Decode an image file to RGBA. Throws {@link DataError} naming the file and the problem. */
export async function decodeImageFileRgba(file: string): Promise<RgbaImage> {
  const { bytes, size } = await readImageBytes(file);
  return decodeMeasured(bytes, size, file);
}

/**
 * Decode an encoded image (PNG, JPEG, BMP, TIFF, GIF) held in memory to RGBA, with the limits of
 * {@link decodeImageFileRgba}. `name` names it in errors.
 */
export async function decodeImageBytes(bytes: Uint8Array, name = 'image'): Promise<RgbaImage> {
  return decodeMeasured(bytes, measureImage(bytes, name), name);
}

async function decodeMeasured(bytes: Uint8Array, size: { width: number; height: number }, file: string): Promise<RgbaImage> {
  const limitMs = 5000 + (size.width * size.height) / 1000;
  let r: DecodeReply | 'timeout';
  try {
    r = await decoder.decode(bytes, limitMs);
  } catch (e) {
    throw new DataError(`${file}: the decoder failed on this image (${(e as Error).message})`);
  }
  if (r === 'timeout')
    throw new DataError(`${file}: decoding took over ${(limitMs / 1000).toFixed(0)} s, so it was stopped (corrupt image?)`);
  if (!r.ok) {
    const what = /mime|unsupported|Could not find/i.test(r.message)
      ? 'not a supported image (PNG, JPEG, BMP, TIFF, GIF)'
      : `corrupt or truncated image (${r.message})`;
    throw new DataError(`${file}: ${what}`);
  }
  if (!r.width || !r.height || r.data.length !== r.width * r.height * 4) throw new DataError(`${file}: corrupt image (no pixels decoded)`);
  if (r.width * r.height > MAX_IMAGE_PIXELS)
    throw new DataError(`${file}: image is ${r.width}x${r.height}, larger than the ${MAX_IMAGE_PIXELS / 1e6} megapixel limit`);
  return { width: r.width, height: r.height, data: r.data };
}

/** Decode an image file to grayscale. Throws {@link DataError} naming the file and the problem. */
export async function decodeImageFile(file: string): Promise<GrayImage> {
  return rgbaToGray(await decodeImageFileRgba(file));
}

/** sha256 of a file, hex. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface ReadProgress {
  /** Bytes of the (possibly compressed) file consumed so far, and its size. */
  bytes: number;
  totalBytes: number;
  rows: number;
}

export interface ReadFer2013Options {
  /** Skip rows that fail to parse instead of stopping at the first (each is still reported). */
  skipBad?: boolean;
  /** Called with each bad row's one-line message (when `skipBad`). */
  onBadRow?: (message: string) => void;
  onProgress?: (p: ReadProgress) => void;
  /** Side of the square images (48 for FER2013). */
  size?: number;
}

async function openLines(file: string, onBytes: (n: number) => void): Promise<{ lines: AsyncIterable<string>; total: number }> {
  const stat = await fs.stat(file).catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`${file}: ${e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.code})`}`);
  });
  if (stat.isDirectory()) throw new DataError(`${file}: is a folder (expected a CSV file)`);
  const fd = await fs.open(file, 'r');
  const magic = Buffer.alloc(2);
  await fd.read(magic, 0, 2, 0);
  await fd.close();
  const raw = createReadStream(file);
  raw.on('data', (c) => onBytes((c as Buffer).length));
  let stream: NodeJS.ReadableStream = raw;
  if (magic[0] === 0x1f && magic[1] === 0x8b) {
    const gunzip = createGunzip();
    raw.pipe(gunzip);
    raw.on('error', (e) => gunzip.destroy(e));
    stream = gunzip;
  }
  return { lines: readline.createInterface({ input: stream, crlfDelay: Infinity }), total: stat.size };
}

/**
 * Stream a FER2013 CSV (`emotion,pixels,Usage`; plain or gzip, detected from the bytes) into an
 * {@link ImageDataset} with the official splits. A bad row stops the read with
 * `<file>: row <n> (line <m>): <problem>`, or is skipped and reported with `skipBad`.
 */
export async function readFer2013(file: string, opts: ReadFer2013Options = {}): Promise<ImageDataset> {
  const size = opts.size ?? 48;
  const per = size * size;
  let bytes = 0;
  const { lines, total } = await openLines(file, (n) => (bytes += n));
  let capacity = 40000;
  let pixels = new Uint8Array(capacity * per);
  let labels = new Uint8Array(capacity);
  let splits = new Uint8Array(capacity);
  let rowIds = new Int32Array(capacity);
  let count = 0;
  let lineNo = 0;
  let header: ReturnType<typeof parseFer2013Header> = null;
  const origins: string[] = [];
  const base = path.basename(file);
  try {
    for await (const line of lines) {
      lineNo++;
      if (lineNo === 1) {
        header = parseFer2013Header(line);
        if (!header) throw new DataError(`${file}: line 1 is not a FER2013 header (expected columns emotion,pixels,Usage)`);
        continue;
      }
      if (line.trim() === '') continue;
      if (count === capacity) {
        capacity *= 2;
        pixels = grow(pixels, capacity * per);
        labels = grow(labels, capacity);
        splits = grow(splits, capacity);
        rowIds = grow(rowIds, capacity);
      }
      const dataRow = lineNo - 2;
      try {
        const r = parseFer2013Row(line, header!, pixels.subarray(count * per, (count + 1) * per));
        labels[count] = r.label;
        splits[count] = r.split;
        rowIds[count] = dataRow;
        origins.push(`${base}:${dataRow}`);
        count++;
      } catch (e) {
        const msg = `${file}: row ${dataRow} (line ${lineNo}): ${(e as Error).message}`;
        if (!opts.skipBad) throw new DataError(`${msg} (use --skip-bad to skip bad rows)`);
        opts.onBadRow?.(msg);
      }
      if (count % 2000 === 0) opts.onProgress?.({ bytes, totalBytes: total, rows: count });
    }
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    const what = code === 'Z_BUF_ERROR' || code === 'Z_DATA_ERROR' ? 'corrupt or truncated gzip data' : (e as Error).message;
    throw new DataError(`${file}: ${what} (after line ${lineNo})`);
  }
  if (!header) throw new DataError(`${file}: empty file`);
  if (count === 0) throw new DataError(`${file}: no data rows`);
  opts.onProgress?.({ bytes: total, totalBytes: total, rows: count });
  return {
    width: size,
    height: size,
    count,
    pixels: pixels.slice(0, count * per),
    labels: labels.slice(0, count),
    splits: splits.slice(0, count),
    rowIds: rowIds.slice(0, count),
    splitNames: [...FER2013_SPLITS],
    classNames: [...FER2013_CLASSES],
    origins,
  };
}

/**
 * Read FER2013's compact binary form (`fer2013.u8`, the uncompressed `fer2013.u8.xz` of the
 * shared data folder): n emotion bytes, n Usage bytes (0 Training, 1 PublicTest, 2 PrivateTest),
 * then n x 2304 pixel bytes, rows in the CSV's order.
 */
export async function readFer2013U8(file: string): Promise<ImageDataset> {
  const bytes = await fs.readFile(file).catch((e: NodeJS.ErrnoException) => {
    throw new DataError(`${file}: ${e.code === 'ENOENT' ? 'file not found' : `cannot read (${e.code})`}`);
  });
  const per = 48 * 48;
  const n = bytes.length / (per + 2);
  if (!Number.isInteger(n) || n === 0)
    throw new DataError(`${file}: ${bytes.length} bytes is not a whole number of FER2013 rows (2 + 2304 bytes each)`);
  const labels = Uint8Array.from(bytes.subarray(0, n));
  const splits = Uint8Array.from(bytes.subarray(n, 2 * n));
  const bad = labels.findIndex((l) => l >= FER2013_CLASSES.length);
  if (bad >= 0) throw new DataError(`${file}: row ${bad}: emotion label ${labels[bad]} is out of range (0..6)`);
  const badSplit = splits.findIndex((u) => u >= FER2013_SPLITS.length);
  if (badSplit >= 0) throw new DataError(`${file}: row ${badSplit}: Usage code ${splits[badSplit]} is out of range (0..2)`);
  const base = path.basename(file);
  return {
    width: 48,
    height: 48,
    count: n,
    pixels: Uint8Array.from(bytes.subarray(2 * n)),
    labels,
    splits,
    rowIds: Int32Array.from({ length: n }, (_, i) => i),
    splitNames: [...FER2013_SPLITS],
    classNames: [...FER2013_CLASSES],
    origins: Array.from({ length: n }, (_, i) => `${base}:${i}`),
  };
}

function grow<T extends Uint8Array | Int32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}

export interface ReadImageFolderOptions {
  /** Output size; images are converted to grayscale and resized to it. Default 48. */
  size?: number;
  /** Class folder names in label order. Default: the FER2013 classes. */
  classNames?: readonly string[];
  skipBad?: boolean;
  onBadFile?: (message: string) => void;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Read an image-folder dataset: `<root>/<split>/<class>/*.png|jpg|…` (the Kaggle layout, splits
 * such as train/test) or `<root>/<class>/*` (one split named "all"). Class folders must be known
 * class names (case-insensitive); an unknown class folder, an empty folder or an unreadable image
 * is a {@link DataError}.
 */
export async function readImageFolder(root: string, opts: ReadImageFolderOptions = {}): Promise<ImageDataset> {
  const size = opts.size ?? 48;
  const classNames = [...(opts.classNames ?? FER2013_CLASSES)];
  const lower = classNames.map((c) => c.toLowerCase());
  const stat = await fs.stat(root).catch(() => null);
  if (!stat) throw new DataError(`${root}: folder not found`);
  if (!stat.isDirectory()) throw new DataError(`${root}: not a folder`);
  const top = (await fs.readdir(root, { withFileTypes: true })).filter((d) => d.isDirectory() && !d.name.startsWith('.'));
  if (top.length === 0) throw new DataError(`${root}: no class or split folders inside (expected <root>/<split>/<class>/*.png)`);
  const isClassLayout = top.every((d) => lower.includes(d.name.toLowerCase()));
  const splitDirs = isClassLayout
    ? [{ name: 'all', dir: root }]
    : top.map((d) => ({ name: d.name, dir: path.join(root, d.name) })).sort((a, b) => a.name.localeCompare(b.name));
  const files: { file: string; label: number; split: number }[] = [];
  for (const [si, s] of splitDirs.entries()) {
    const classDirs = (await fs.readdir(s.dir, { withFileTypes: true }))
      .filter((d) => !d.name.startsWith('.'))
      .sort((a, b) => a.name.localeCompare(b.name));
    for (const d of classDirs) {
      const full = path.join(s.dir, d.name);
      if (!d.isDirectory()) continue;
      const label = lower.indexOf(d.name.toLowerCase());
      if (label < 0) throw new DataError(`${full}: unknown class folder "${d.name}" (expected one of: ${classNames.join(', ')})`);
      const images = (await fs.readdir(full))
        .filter((f) => (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(f).toLowerCase()))
        .sort();
      // A class folder without images is a mistake to point out, not a class to drop in silence.
      if (images.length === 0) throw new DataError(`${full}: class folder holds no images (${IMAGE_EXTENSIONS.join(' ')})`);
      for (const f of images) files.push({ file: path.join(full, f), label, split: si });
    }
  }
  if (files.length === 0)
    throw new DataError(`${root}: no images found (expected ${IMAGE_EXTENSIONS.join(' ')} files in <split>/<class>/ folders)`);
  const per = size * size;
  const pixels = new Uint8Array(files.length * per);
  const labels = new Uint8Array(files.length);
  const splits = new Uint8Array(files.length);
  const origins: string[] = [];
  let count = 0;
  for (const [i, f] of files.entries()) {
    try {
      const img = await decodeImageFile(f.file);
      const sized = img.width === size && img.height === size ? img : resizeGray(img, size, size);
      pixels.set(sized.data, count * per);
      labels[count] = f.label;
      splits[count] = f.split;
      origins.push(f.file);
      count++;
    } catch (e) {
      if (!opts.skipBad || !(e instanceof DataError)) throw e;
      opts.onBadFile?.(e.message);
    }
    opts.onProgress?.(i + 1, files.length);
  }
  if (count === 0) throw new DataError(`${root}: none of the ${files.length} images could be read`);
  return {
    width: size,
    height: size,
    count,
    pixels: pixels.slice(0, count * per),
    labels: labels.slice(0, count),
    splits: splits.slice(0, count),
    rowIds: Int32Array.from({ length: count }, (_, i) => i),
    splitNames: splitDirs.map((s) => s.name),
    classNames,
    origins,
  };
}

/** FER+ labels aligned with fer2013.csv rows. */
export interface FerPlusLabels {
  /** Majority (plurality) class per row in FER2013 class order, or -1 where FER+ has no votes. */
  majority: Int16Array;
  /** Vote distribution per row over the 7 classes (rows x 7), zeros where there are no votes. */
  soft: Float32Array;
}

/** Read `fer2013new.csv` (FER+ votes). Rows align one-to-one with fer2013.csv. */
export async function readFerPlus(file: string): Promise<FerPlusLabels> {
  const { lines } = await openLines(file, () => undefined);
  const majority: number[] = [];
  const soft: number[] = [];
  let columns: number[] | null = null;
  let lineNo = 0;
  for await (const line of lines) {
    lineNo++;
    if (lineNo === 1) {
      const names = line.split(',').map((c) => c.trim().toLowerCase());
      columns = FERPLUS_COLUMNS.map((c) => names.indexOf(c));
      const missing = FERPLUS_COLUMNS.filter((_, i) => columns![i] < 0);
      if (missing.length) throw new DataError(`${file}: line 1 is not a FER+ header (missing ${missing.join(', ')})`);
      continue;
    }
    if (line.trim() === '') continue;
    let votes: number[] | null;
    try {
      votes = ferPlusVotes(line, columns!);
    } catch (e) {
      throw new DataError(`${file}: row ${lineNo - 2} (line ${lineNo}): ${(e as Error).message}`);
    }
    if (!votes) {
      majority.push(-1);
      soft.push(0, 0, 0, 0, 0, 0, 0);
      continue;
    }
    const sum = votes.reduce((a, b) => a + b, 0);
    let best = 0;
    votes.forEach((v, i) => (v > votes![best] ? (best = i) : undefined));
    majority.push(best);
    soft.push(...votes.map((v) => v / sum));
  }
  if (!columns) throw new DataError(`${file}: empty file`);
  return { majority: Int16Array.from(majority), soft: Float32Array.from(soft) };
}

/**
 * Relabel a FER2013 dataset with FER+ labels: `majority` replaces each label by the FER+
 * plurality, `soft` also attaches the vote distributions. Rows FER+ gives no votes are dropped.
 */
export function applyFerPlus(ds: ImageDataset, fp: FerPlusLabels, mode: 'majority' | 'soft'): ImageDataset {
  const keep: number[] = [];
  for (let i = 0; i < ds.count; i++) {
    const r = ds.rowIds[i];
    if (r >= fp.majority.length) throw new DataError(`FER+ labels have ${fp.majority.length} rows but the dataset has row ${r}`);
    if (fp.majority[r] >= 0) keep.push(i);
  }
  const out = subset(ds, keep);
  out.softLabels = mode === 'soft' ? new Float32Array(out.count * 7) : undefined;
  for (let i = 0; i < out.count; i++) {
    const r = out.rowIds[i];
    out.labels[i] = fp.majority[r];
    out.softLabels?.set(fp.soft.subarray(r * 7, r * 7 + 7), i * 7);
  }
  return out;
}
