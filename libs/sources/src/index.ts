/**
 * @emodetect/sources: where training faces come from, beyond one FER2013 file.
 *
 * - **Photos** (a labelled CSV such as ExpW's, or a folder of photos): each face is found by the
 *   real face detector and cut with the model's own crop geometry (`cropFace`), the way `detect`
 *   shows faces to the model at inference. The Node entry (`@emodetect/sources/node`) reads the
 *   files and caches the crops; this entry holds the isomorphic steps.
 * - **Mixing**: several datasets of the same size and classes become one, each with a sampling
 *   weight (how many times each of its training faces is seen per epoch) and its own validation
 *   part, so that a run reports (and selects on) every source.
 */
import { Rng } from '@emodetect/augment';
import type { Face, FaceBox } from '@emodetect/face-detect';
import { cropFaceGray, type CropOptions } from '@emodetect/realtime';
import { DataError, type GrayImage, type ImageDataset, type InputConfig } from '@emodetect/preprocess';

/** One labelled photo of a source: the file, its class, its split and the group it belongs to. */
export interface PhotoRow {
  /** Path relative to the source (the CSV's folder, or the folder). */
  file: string;
  label: number;
  split: string;
  /** Faces of one group (e.g. one original photo) are never split between training and validation. */
  group: string;
  /** The labelled face box in the image, when the source gives one: the detection nearest to it is taken. */
  box?: FaceBox;
}

/** Split a CSV line into fields (RFC 4180 quotes allowed). */
function csvFields(line: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') ((cur += '"'), i++);
      else if (c === '"') quoted = false;
      else cur += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') (out.push(cur), (cur = ''));
    else cur += c;
  }
  out.push(cur);
  return out.map((f) => f.trim());
}

/** True when a CSV header names a labelled-photo list (`file` and `emotion` or `label` columns). */
export function isLabelledPhotoHeader(headerLine: string): boolean {
  const cols = csvFields(headerLine).map((c) => c.toLowerCase());
  return cols.includes('file') && (cols.includes('emotion') || cols.includes('label'));
}

/**
 * Parse a labelled-photo CSV: columns `file` and `emotion` (a class name, or its index) are
 * required; `split` (default `train`), `photo` or `group` (default: the file) and a box
 * (`box_x, box_y, box_width, box_height`) are optional. Throws a {@link DataError} naming `where`
 * and the line for a bad row.
 */
export function parseLabelledPhotos(text: string, where: string, classNames: readonly string[]): PhotoRow[] {
  const lines = text.split(/\r?\n/);
  const header = csvFields(lines[0] ?? '').map((c) => c.toLowerCase());
  const col = (...names: string[]) => header.findIndex((h) => names.includes(h));
  const file = col('file');
  const emotion = col('emotion', 'label');
  if (file < 0 || emotion < 0)
    throw new DataError(`${where}: the header needs "file" and "emotion" columns (it has: ${header.join(', ')})`);
  const split = col('split');
  const group = col('photo', 'group');
  const box = ['box_x', 'box_y', 'box_width', 'box_height'].map((n) => col(n));
  const lower = classNames.map((c) => c.toLowerCase());
  const rows: PhotoRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    if (!lines[i].trim()) continue;
    const f = csvFields(lines[i]);
    const bad = (problem: string) => new DataError(`${where}: line ${i + 1}: ${problem}`);
    if (f.length < header.length) throw bad(`has ${f.length} columns (expected ${header.length})`);
    const e = f[emotion];
    const label = /^\d+$/.test(e) ? Number(e) : lower.indexOf(e.toLowerCase());
    if (!(label >= 0 && label < classNames.length)) throw bad(`unknown emotion "${e}" (expected one of: ${classNames.join(', ')})`);
    if (!f[file]) throw bad('the file is empty');
    const row: PhotoRow = {
      file: f[file],
      label,
      split: split >= 0 ? f[split] || 'train' : 'train',
      group: group >= 0 ? f[group] : f[file],
    };
    if (box.every((c) => c >= 0)) {
      const [x, y, width, height] = box.map((c) => Number(f[c]));
      if ([x, y, width, height].every(Number.isFinite) && width > 0 && height > 0) row.box = { x, y, width, height };
    }
    rows.push(row);
  }
  if (rows.length === 0) throw new DataError(`${where}: no rows after the header`);
  return rows;
}

/**
 * The face a labelled photo is about. With a labelled box: the detection whose centre lies in
 * the box and is nearest to the box's centre. Without one: the largest detection. null when no
 * detection fits.
 */
export function pickFace(faces: readonly Face[], box?: FaceBox): Face | null {
  if (faces.length === 0) return null;
  if (!box) return [...faces].sort((a, b) => b.box.width * b.box.height - a.box.width * a.box.height)[0];
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  let best: Face | null = null;
  let bestD = Infinity;
  for (const f of faces) {
    const fx = f.box.x + f.box.width / 2;
    const fy = f.box.y + f.box.height / 2;
    if (fx < box.x || fx > box.x + box.width || fy < box.y || fy > box.y + box.height) continue;
    const d = (fx - cx) ** 2 + (fy - cy) ** 2;
    if (d < bestD) ((best = f), (bestD = d));
  }
  return best;
}

/** A face cut from its box with no keypoints (no eye levelling): the "direct crop" of a labelled box. */
export function boxFace(box: FaceBox): Face {
  return { box, score: 1, keypoints: [] };
}

/** The classifier's 8-bit input for one face of a photo, as the realtime pipeline cuts it. */
export function cropForModel(image: GrayImage, face: Face, input: InputConfig, crop: CropOptions = {}): Uint8Array {
  return cropFaceGray(image, face, input, crop).data;
}

/**
 * Move a seeded part (`fraction`, rounded per class) of split `from` into a new split `to`, whole
 * groups at a time and stratified by class (each group counts for the class of its first face).
 * Returns a dataset with one more split name; pixels are shared.
 */
export function holdOutGroups(
  ds: ImageDataset,
  groups: readonly string[],
  from: string,
  to: string,
  fraction: number,
  seed: number,
): ImageDataset {
  const code = ds.splitNames.findIndex((s) => s.toLowerCase() === from.toLowerCase());
  if (code < 0) throw new DataError(`no "${from}" split to hold out from (splits: ${ds.splitNames.join(', ')})`);
  const byGroup = new Map<string, number[]>();
  for (let i = 0; i < ds.count; i++) if (ds.splits[i] === code) byGroup.set(groups[i], [...(byGroup.get(groups[i]) ?? []), i]);
  const byClass = new Map<number, string[]>();
  for (const [g, members] of [...byGroup.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    const c = ds.labels[members[0]];
    byClass.set(c, [...(byClass.get(c) ?? []), g]);
  }
  const rng = new Rng(seed);
  const newCode = ds.splitNames.length;
  const splits = ds.splits.slice();
  for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
    const list = rng.shuffle([...byClass.get(c)!]);
    const k = Math.round(list.length * fraction);
    for (const g of list.slice(0, k)) for (const i of byGroup.get(g)!) splits[i] = newCode;
  }
  return { ...ds, splits, splitNames: [...ds.splitNames, to] };
}

/** A dataset, its training and validation indices, and how often its training faces are drawn. */
export interface Source {
  /** A short name for logs and reports (e.g. "fer2013", "expw"). */
  name: string;
  data: ImageDataset;
  train: number[];
  val: number[];
  /** Sampling weight: each training face is seen this many times per epoch on average (> 0). */
  weight: number;
}

/** Several sources as one training set. */
export interface MixedSources {
  data: ImageDataset;
  /** Training indices into `data`, with repeats for weights above 1 (and a seeded part for fractions). */
  train: number[];
  /** All validation indices. */
  val: number[];
  /** Validation indices per source, in the order the sources were given. */
  valGroups: { name: string; indices: number[] }[];
  /** Per source: name, images, training faces per epoch, weight. */
  summary: { name: string; images: number; train: number; perEpoch: number; val: number; weight: number }[];
}

/**
 * Mix sources into one dataset (same image size and classes). Split names become
 * `<source>/<split>`; origins keep their source. A weight w draws each training face ⌊w⌋ times
 * per epoch, plus a seeded, class-stratified part w − ⌊w⌋ of them once more.
 */
export function mixSources(sources: readonly Source[], seed: number): MixedSources {
  if (sources.length === 0) throw new Error('mixSources: no sources');
  const [first] = sources;
  for (const s of sources) {
    if (s.data.width !== first.data.width || s.data.height !== first.data.height)
      throw new DataError(
        `${s.name}: images are ${s.data.width}x${s.data.height}, ${first.name}'s are ${first.data.width}x${first.data.height}`,
      );
    if (s.data.classNames.join(',') !== first.data.classNames.join(','))
      throw new DataError(
        `${s.name}: classes (${s.data.classNames.join(', ')}) differ from ${first.name}'s (${first.data.classNames.join(', ')})`,
      );
    if (!(s.weight > 0)) throw new DataError(`${s.name}: sampling weight must be > 0, not ${s.weight}`);
  }
  if (sources.length === 1 && first.weight === 1) {
    return {
      data: first.data,
      train: first.train,
      val: first.val,
      valGroups: [{ name: first.name, indices: first.val }],
      summary: [summaryOf(first, first.train.length)],
    };
  }
  const per = first.data.width * first.data.height;
  const k = first.data.classNames.length;
  const count = sources.reduce((a, s) => a + s.data.count, 0);
  const soft = sources.some((s) => s.data.softLabels);
  const out: ImageDataset = {
    width: first.data.width,
    height: first.data.height,
    count,
    pixels: new Uint8Array(count * per),
    labels: new Uint8Array(count),
    classNames: [...first.data.classNames],
    splits: new Uint8Array(count),
    splitNames: [],
    origins: [],
    rowIds: new Int32Array(count),
    softLabels: soft ? new Float32Array(count * k) : undefined,
  };
  const mixed: MixedSources = { data: out, train: [], val: [], valGroups: [], summary: [] };
  const rng = new Rng(seed);
  let offset = 0;
  for (const s of sources) {
    const d = s.data;
    out.pixels.set(d.pixels.subarray(0, d.count * per), offset * per);
    out.labels.set(d.labels.subarray(0, d.count), offset);
    out.rowIds.set(d.rowIds.subarray(0, d.count), offset);
    const base = out.splitNames.length;
    out.splitNames.push(...d.splitNames.map((n) => `${s.name}/${n}`));
    for (let i = 0; i < d.count; i++) out.splits[offset + i] = base + d.splits[i];
    out.origins.push(...d.origins);
    if (out.softLabels) {
      if (d.softLabels) out.softLabels.set(d.softLabels.subarray(0, d.count * k), offset * k);
      else for (let i = 0; i < d.count; i++) out.softLabels[(offset + i) * k + d.labels[i]] = 1;
    }
    const shift = (idx: readonly number[]) => idx.map((i) => i + offset);
    const whole = Math.floor(s.weight);
    const train: number[] = [];
    for (let r = 0; r < whole; r++) train.push(...shift(s.train));
    const part = s.weight - whole;
    if (part > 0) {
      // A class-stratified part of the training faces, once more.
      const byClass = new Map<number, number[]>();
      for (const i of s.train) byClass.set(d.labels[i], [...(byClass.get(d.labels[i]) ?? []), i]);
      for (const c of [...byClass.keys()].sort((a, b) => a - b)) {
        const list = rng.shuffle([...byClass.get(c)!]);
        train.push(...shift(list.slice(0, Math.round(list.length * part))));
      }
    }
    mixed.train.push(...train);
    const val = shift(s.val);
    mixed.val.push(...val);
    mixed.valGroups.push({ name: s.name, indices: val });
    mixed.summary.push(summaryOf(s, train.length));
    offset += d.count;
  }
  if (out.splitNames.length > 255) throw new DataError('too many splits across the sources (at most 255)');
  return mixed;
}

function summaryOf(s: Source, perEpoch: number): MixedSources['summary'][number] {
  return { name: s.name, images: s.data.count, train: s.train.length, perEpoch, val: s.val.length, weight: s.weight };
}
