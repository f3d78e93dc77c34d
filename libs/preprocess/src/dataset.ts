/** In-memory labelled image sets and the isomorphic parts of the dataset readers. */

/** The seven FER2013 classes, in the dataset's label order (0..6). */
export const FER2013_CLASSES = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
/** FER2013's `Usage` values, in file order; index = split code. */
export const FER2013_SPLITS = ['Training', 'PublicTest', 'PrivateTest'] as const;

/** A labelled set of same-sized grayscale images held in one buffer. */
export interface ImageDataset {
  width: number;
  height: number;
  count: number;
  /** count x height x width bytes, row-major per image. */
  pixels: Uint8Array;
  /** Class index per image. */
  labels: Uint8Array;
  /** Class names; `labels` index into this. */
  classNames: string[];
  /** Split code per image, indexing `splitNames` (e.g. FER2013 Usage). */
  splits: Uint8Array;
  splitNames: string[];
  /** Where each image came from: "<file>:<row>" or a file path; for error messages and reports. */
  origins: string[];
  /** Row number in the source file (FER2013: 0-based data row), for joins such as FER+. */
  rowIds: Int32Array;
  /** Optional soft labels, count x classNames.length (e.g. FER+ vote distributions). */
  softLabels?: Float32Array;
}

/** A user-facing data problem; the message names the file (and row) and the problem. */
export class DataError extends Error {
  override name = 'DataError';
}

/** Pick the images at `indices` into a new dataset (copies pixels). */
export function subset(ds: ImageDataset, indices: ArrayLike<number>): ImageDataset {
  const per = ds.width * ds.height;
  const k = ds.classNames.length;
  const n = indices.length;
  const pixels = new Uint8Array(n * per);
  const labels = new Uint8Array(n);
  const splits = new Uint8Array(n);
  const rowIds = new Int32Array(n);
  const origins: string[] = new Array(n);
  const soft = ds.softLabels ? new Float32Array(n * k) : undefined;
  for (let i = 0; i < n; i++) {
    const j = indices[i];
    pixels.set(ds.pixels.subarray(j * per, (j + 1) * per), i * per);
    labels[i] = ds.labels[j];
    splits[i] = ds.splits[j];
    rowIds[i] = ds.rowIds[j];
    origins[i] = ds.origins[j];
    if (soft && ds.softLabels) soft.set(ds.softLabels.subarray(j * k, (j + 1) * k), i * k);
  }
  return { ...ds, count: n, pixels, labels, splits, rowIds, origins, softLabels: soft };
}

/** Indices of the images in a named split (case-insensitive). */
export function splitIndices(ds: ImageDataset, split: string): number[] {
  const code = ds.splitNames.findIndex((s) => s.toLowerCase() === split.toLowerCase());
  if (code < 0) return [];
  const out: number[] = [];
  for (let i = 0; i < ds.count; i++) if (ds.splits[i] === code) out.push(i);
  return out;
}

/** Per-class counts. */
export function classCounts(ds: ImageDataset, indices?: ArrayLike<number>): number[] {
  const counts = new Array<number>(ds.classNames.length).fill(0);
  const n = indices ? indices.length : ds.count;
  for (let i = 0; i < n; i++) counts[ds.labels[indices ? indices[i] : i]]++;
  return counts;
}

/** Column positions of a FER2013 CSV header. */
export interface Fer2013Header {
  emotion: number;
  pixels: number;
  usage: number;
}

/** Parse the FER2013 header line (`emotion,pixels,Usage`, any order); null if it is not one. */
export function parseFer2013Header(line: string): Fer2013Header | null {
  const cols = line
    .trim()
    .split(',')
    .map((c) => c.trim().toLowerCase());
  const emotion = cols.indexOf('emotion');
  const pixels = cols.indexOf('pixels');
  const usage = cols.indexOf('usage');
  if (emotion < 0 || pixels < 0) return null;
  return { emotion, pixels, usage };
}

/**
 * Parse one FER2013 data line into `dst` (size x size bytes). Returns label and split code, or
 * throws an Error whose message states the problem (the caller adds file and row).
 */
export function parseFer2013Row(line: string, header: Fer2013Header, dst: Uint8Array, numClasses = 7): { label: number; split: number } {
  const cols = line.split(',');
  const need = Math.max(header.emotion, header.pixels, header.usage) + 1;
  if (cols.length < need) throw new Error(`has ${cols.length} columns (expected ${need})`);
  const labelText = cols[header.emotion].trim();
  const label = Number(labelText);
  if (!/^\d+$/.test(labelText) || label >= numClasses) {
    throw new Error(`emotion label "${labelText}" is out of range (0..${numClasses - 1})`);
  }
  let split = 0;
  if (header.usage >= 0) {
    const usage = cols[header.usage].trim();
    split = (FER2013_SPLITS as readonly string[]).indexOf(usage);
    if (split < 0) throw new Error(`unknown Usage "${usage}" (expected ${FER2013_SPLITS.join(', ')})`);
  }
  const px = cols[header.pixels];
  let count = 0;
  let value = -1;
  for (let i = 0; i <= px.length; i++) {
    const c = i < px.length ? px.charCodeAt(i) : 32;
    if (c >= 48 && c <= 57) {
      value = value < 0 ? c - 48 : value * 10 + (c - 48);
    } else if (c === 32 || c === 34 || c === 13) {
      if (value >= 0) {
        if (value > 255) throw new Error(`pixel ${count + 1} is ${value} (expected 0..255)`);
        if (count < dst.length) dst[count] = value;
        count++;
        value = -1;
      }
    } else {
      throw new Error(`pixels contain an invalid character "${px[i]}"`);
    }
  }
  if (count !== dst.length) throw new Error(`has ${count} pixel values (expected ${dst.length})`);
  return { label, split };
}

/** FER+ columns (fer2013new.csv) in the order of {@link FER2013_CLASSES}. */
export const FERPLUS_COLUMNS = ['anger', 'disgust', 'fear', 'happiness', 'sadness', 'surprise', 'neutral'] as const;

/** FER+ votes of one row mapped onto the 7 FER2013 classes; null when the row has none. */
export function ferPlusVotes(line: string, columns: number[]): number[] | null {
  const cols = line.split(',');
  const votes = columns.map((c) => Number(cols[c] ?? 'NaN'));
  if (votes.some((v) => !Number.isFinite(v) || v < 0)) throw new Error('has a missing or invalid vote count');
  return votes.reduce((a, b) => a + b, 0) > 0 ? votes : null;
}

/** A 53-bit FNV-1a-style hash of an image's bytes (collisions are resolved by comparing bytes). */
function imageHash(px: Uint8Array): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x01000193;
  for (let i = 0; i < px.length; i++) {
    h1 = Math.imul(h1 ^ px[i], 0x01000193);
    h2 = Math.imul(h2 ^ px[i], 0x5bd1e995);
  }
  return (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) & 0x1fffff);
}

/**
 * Indices among `candidates` whose pixels are identical to some image in `reference` (e.g. test
 * faces that also occur in Training: FER2013 has 288 such PrivateTest faces).
 */
export function pixelDuplicates(ds: ImageDataset, candidates: readonly number[], reference: readonly number[]): number[] {
  const per = ds.width * ds.height;
  const img = (i: number) => ds.pixels.subarray(i * per, (i + 1) * per);
  const seen = new Map<number, number[]>();
  for (const r of reference) {
    const h = imageHash(img(r));
    const list = seen.get(h);
    if (list) list.push(r);
    else seen.set(h, [r]);
  }
  const same = (a: Uint8Array, b: Uint8Array) => a.every((v, i) => v === b[i]);
  return candidates.filter((c) => seen.get(imageHash(img(c)))?.some((r) => same(img(c), img(r))) ?? false);
}
