/**
 * Node entry point of @emodetect/sources: photo sets read from disk, their faces found by the
 * real detector and cut as inference cuts them, once, then cached.
 */
import { createHash } from 'node:crypto';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createNodeFaceDetector, type FaceDetector } from '@emodetect/face-detect/node';
import {
  DataError,
  DEFAULT_CROP,
  FER2013_CLASSES,
  IMAGE_EXTENSIONS,
  decodeImageFileRgba,
  isGray,
  rgbaToGray,
  type ImageDataset,
  type InputConfig,
} from '@emodetect/preprocess/node';
import { IMAGE_RECIPE, recipeDetector, recipeModels, type CropOptions, type DetectorRecipe } from '@emodetect/realtime';
import { boxFace, cropForModel, holdOutGroups, parseLabelledPhotos, pickFace, type PhotoRow } from './index.ts';

export * from './index.ts';

export interface PhotoFacesOptions {
  /** The face detector, set up as `detect` runs it on images (the caller owns and disposes it); needed for faces `detect`. */
  detector?: FaceDetector;
  /** A description of the detector and its settings: part of the cache key (faces `detect`). */
  detectorKey?: string;
  /** The classifier's input (size) and crop geometry: faces are cut as the model sees them. */
  input: InputConfig;
  crop?: CropOptions;
  /**
   * `detect` (default): the detector finds the face; photos where it finds none are left out.
   * `box`: the labelled box is cut directly (no detector; sources without boxes cannot).
   */
  faces?: 'detect' | 'box';
  classNames?: readonly string[];
  /** Where crops are cached; null = no cache. Default: $EMODETECT_CACHE or ~/.cache/emodetect. */
  cacheDir?: string | null;
  /** Part of `train` held out as `val` (whole groups) when the source has no validation split. Default 0.15. */
  valFraction?: number;
  /** Seed of that hold-out: fixed (default 1), so every run validates on the same faces. */
  valSeed?: number;
  onProgress?: (done: number, total: number) => void;
}

export interface PhotoFaces {
  /** One 8-bit crop per face found, with its label and split (`train`, `val`, `test`, ...). */
  data: ImageDataset;
  /** The group of each face (e.g. its original photo). */
  groups: string[];
  /** Photos listed, and the ones where no face was found (as listed, with their split). */
  photos: number;
  missed: { file: string; split: string }[];
  /** The cache file read or written, when caching. */
  cacheFile?: string;
  fromCache: boolean;
}

/**
 * The face detector for photo sources, set up as `emodetect detect` runs on images (the image
 * recipe: 3x3 tiles and a second look), and the key that names its settings in the cache.
 */
export async function createPhotoDetector(
  recipe: DetectorRecipe = IMAGE_RECIPE,
): Promise<{ detector: FaceDetector; key: string; dispose(): void }> {
  const bases: Partial<Record<'short' | 'full', FaceDetector>> = {};
  for (const m of recipeModels(recipe)) bases[m] = await createNodeFaceDetector({ model: m, maxFaces: recipe.maxFaces });
  return {
    detector: recipeDetector(bases, recipe),
    key: JSON.stringify(recipe),
    dispose: () => Object.values(bases).forEach((d) => d.dispose()),
  };
}

/** The default cache folder for photo crops. */
export function defaultCacheDir(): string {
  return process.env.EMODETECT_CACHE || path.join(os.homedir(), '.cache', 'emodetect');
}

/** The rows of a photo source: a labelled CSV (files relative to its folder or to `images/` beside it), or a folder `<root>/<split>/<class>/*` (or `<root>/<class>/*`). */
export async function listPhotos(
  source: string,
  classNames: readonly string[] = FER2013_CLASSES,
): Promise<{ root: string; rows: PhotoRow[] }> {
  const stat = await fs.stat(source).catch(() => null);
  if (!stat) throw new DataError(`${source}: not found`);
  if (stat.isFile()) {
    const rows = parseLabelledPhotos(await fs.readFile(source, 'utf8'), source, classNames);
    // Files are relative to the CSV's folder, or to an `images/` folder beside it (ExpW's layout).
    const dir = path.dirname(source);
    const exists = (p: string) =>
      fs.stat(p).then(
        () => true,
        () => false,
      );
    const root =
      !(await exists(path.resolve(dir, rows[0].file))) && (await exists(path.resolve(dir, 'images', rows[0].file)))
        ? path.join(dir, 'images')
        : dir;
    return { root, rows };
  }
  const lower = classNames.map((c) => c.toLowerCase());
  const dirs = async (d: string) =>
    (await fs.readdir(d, { withFileTypes: true }))
      .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
      .map((e) => e.name)
      .sort();
  const top = await dirs(source);
  if (top.length === 0) throw new DataError(`${source}: no class or split folders inside (expected <root>/<split>/<class>/*.jpg)`);
  const layout = top.every((t) => lower.includes(t.toLowerCase())) ? [{ split: 'train', dir: '' }] : top.map((t) => ({ split: t, dir: t }));
  const rows: PhotoRow[] = [];
  for (const { split, dir } of layout) {
    for (const cls of await dirs(path.join(source, dir))) {
      const label = lower.indexOf(cls.toLowerCase());
      if (label < 0)
        throw new DataError(`${path.join(source, dir, cls)}: unknown class folder "${cls}" (expected one of: ${classNames.join(', ')})`);
      const files = (await fs.readdir(path.join(source, dir, cls)))
        .filter((f) => (IMAGE_EXTENSIONS as readonly string[]).includes(path.extname(f).toLowerCase()))
        .sort();
      for (const f of files) {
        const file = path.join(dir, cls, f);
        rows.push({ file, label, split, group: file });
      }
    }
  }
  if (rows.length === 0) throw new DataError(`${source}: no images found (${IMAGE_EXTENSIONS.join(' ')})`);
  return { root: source, rows };
}

const MAGIC = 'emodetect-faces/1\n';

/**
 * Read a photo source (see {@link listPhotos}) as the classifier's crops: each photo is decoded,
 * its face found by `detector` (the one nearest the labelled box, or the largest) and cut with the
 * model's crop geometry, as `emodetect detect` does. The result is cached under a key made of the
 * listing, the files' sizes and times, the detector and the crop, so a second read takes a moment
 * and a change to any of them makes new crops. A photo that cannot be decoded is a DataError
 * naming it.
 */
export async function readPhotoFaces(source: string, opts: PhotoFacesOptions): Promise<PhotoFaces> {
  const classNames = opts.classNames ?? FER2013_CLASSES;
  const { root, rows } = await listPhotos(source, classNames);
  const mode = opts.faces ?? 'detect';
  if (mode === 'detect' && !opts.detector) throw new Error('readPhotoFaces: faces "detect" needs a detector');
  if (mode === 'box' && rows.some((r) => !r.box))
    throw new DataError(`${source}: faces "box" needs a labelled box (box_x, box_y, box_width, box_height) on every row`);
  const { height, width } = opts.input;
  const stats = await Promise.all(
    rows.map(async (r) => {
      const s = await fs.stat(path.resolve(root, r.file)).catch(() => null);
      if (!s) throw new DataError(`${path.resolve(root, r.file)}: not found (listed in ${source})`);
      return `${s.size}:${Math.round(s.mtimeMs)}`;
    }),
  );
  const key = createHash('sha256')
    .update(
      JSON.stringify({
        rows,
        stats,
        mode,
        detector: mode === 'detect' ? opts.detectorKey : null,
        crop: { ...DEFAULT_CROP, ...opts.crop },
        height,
        width,
        classNames,
      }),
    )
    .digest('hex')
    .slice(0, 20);
  const cacheDir = opts.cacheDir === undefined ? defaultCacheDir() : opts.cacheDir;
  const cacheFile = cacheDir
    ? path.join(cacheDir, `${path.basename(path.resolve(source)).replace(/[^\w.-]/g, '_')}-${mode}-${key}.faces`)
    : undefined;
  let crops = cacheFile ? await readCache(cacheFile) : null;
  const fromCache = crops !== null;
  if (!crops) {
    crops = { kept: [], pixels: new Uint8Array(rows.length * height * width) };
    for (const [i, r] of rows.entries()) {
      const file = path.resolve(root, r.file);
      const rgba = await decodeImageFileRgba(file);
      const gray = isGray(rgba) ? rgba : rgbaToGray(rgba);
      const face = mode === 'box' ? boxFace(r.box!) : pickFace(await opts.detector!.estimateFaces(rgba), r.box);
      if (face) {
        crops.pixels.set(cropForModel(gray, face, opts.input, opts.crop), crops.kept.length * height * width);
        crops.kept.push(i);
      }
      opts.onProgress?.(i + 1, rows.length);
    }
    crops.pixels = crops.pixels.slice(0, crops.kept.length * height * width);
    if (cacheFile) await writeCache(cacheFile, crops);
  }
  const kept = crops.kept.map((i) => rows[i]);
  const splitNames = [...new Set(rows.map((r) => r.split))];
  let data: ImageDataset = {
    width,
    height,
    count: kept.length,
    pixels: crops.pixels,
    labels: Uint8Array.from(kept, (r) => r.label),
    classNames: [...classNames],
    splits: Uint8Array.from(kept, (r) => splitNames.indexOf(r.split)),
    splitNames,
    origins: kept.map((r) => path.resolve(root, r.file)),
    rowIds: Int32Array.from(crops.kept),
  };
  const groups = kept.map((r) => r.group);
  const hasVal = splitNames.some((s) => ['val', 'validation', 'valid'].includes(s.toLowerCase()));
  const train = splitNames.find((s) => ['train', 'training'].includes(s.toLowerCase()));
  if (!hasVal && train) data = holdOutGroups(data, groups, train, 'val', opts.valFraction ?? 0.15, opts.valSeed ?? 1);
  const keptSet = new Set(crops.kept);
  return {
    data,
    groups,
    photos: rows.length,
    missed: rows.filter((_, i) => !keptSet.has(i)).map((r) => ({ file: r.file, split: r.split })),
    cacheFile,
    fromCache,
  };
}

interface Crops {
  /** Row numbers of the photos whose face was found, in order. */
  kept: number[];
  pixels: Uint8Array;
}

async function readCache(file: string): Promise<Crops | null> {
  const buf = await fs.readFile(file).catch(() => null);
  if (!buf || buf.subarray(0, MAGIC.length).toString() !== MAGIC) return null;
  try {
    const len = buf.readUInt32LE(MAGIC.length);
    const head = JSON.parse(buf.subarray(MAGIC.length + 4, MAGIC.length + 4 + len).toString()) as { kept: number[]; bytes: number };
    const pixels = new Uint8Array(buf.subarray(MAGIC.length + 4 + len));
    return pixels.length === head.bytes ? { kept: head.kept, pixels } : null;
  } catch {
    return null;
  }
}

async function writeCache(file: string, c: Crops): Promise<void> {
  await fs.mkdir(path.dirname(file), { recursive: true });
  const head = Buffer.from(JSON.stringify({ kept: c.kept, bytes: c.pixels.length }));
  const len = Buffer.alloc(4);
  len.writeUInt32LE(head.length);
  const tmp = `${file}.tmp-${process.pid}`;
  await fs.writeFile(tmp, Buffer.concat([Buffer.from(MAGIC), len, head, c.pixels]));
  await fs.rename(tmp, file);
}
