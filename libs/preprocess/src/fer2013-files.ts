/** FER2013 from disk: the Kaggle CSV (or .csv.gz, streamed) and the compact .u8 form; FER+ votes. */
import { createReadStream, promises as fs } from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { createGunzip } from 'node:zlib';
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
  return fer2013Dataset(size, {
    count,
    pixels: pixels.slice(0, count * per),
    labels: labels.slice(0, count),
    splits: splits.slice(0, count),
    rowIds: rowIds.slice(0, count),
    origins,
  });
}

/** A dataset with FER2013's splits and classes, whichever file it was read from. */
function fer2013Dataset(
  size: number,
  rows: Pick<ImageDataset, 'count' | 'pixels' | 'labels' | 'splits' | 'rowIds' | 'origins'>,
): ImageDataset {
  return { width: size, height: size, ...rows, splitNames: [...FER2013_SPLITS], classNames: [...FER2013_CLASSES] };
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
  return fer2013Dataset(48, {
    count: n,
    pixels: Uint8Array.from(bytes.subarray(2 * n)),
    labels,
    splits,
    rowIds: Int32Array.from({ length: n }, (_, i) => i),
    origins: Array.from({ length: n }, (_, i) => `${base}:${i}`),
  });
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

function grow<T extends Uint8Array | Int32Array>(a: T, n: number): T {
  const b = new (a.constructor as new (n: number) => T)(n);
  b.set(a);
  return b;
}
