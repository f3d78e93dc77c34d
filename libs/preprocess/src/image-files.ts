/** Image files and bytes: measured from their headers, decoded on a worker thread with limits (jimp). */
import { createReadStream, promises as fs } from 'node:fs';
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import type { DecodeReply } from './decode-worker.ts';
import { rgbaToGray, type GrayImage, type RgbaImage } from './image.ts';
import { DataError } from './dataset.ts';

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
