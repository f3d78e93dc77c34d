/**
 * `train`'s data: one or several sources (FER2013, folders of face crops, labelled photos whose
 * faces the detector finds), each with its sampling weight and its own validation part, mixed
 * into one training set.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { DataError, DEFAULT_CROP, fileSha256, type CropConfig, type ImageDataset, type InputConfig } from '@emodetect/preprocess/node';
import {
  createPhotoDetector,
  isLabelledPhotoHeader,
  mixSources,
  readPhotoFaces,
  type MixedSources,
  type Source,
} from '@emodetect/sources/node';
import type { TrainingSource } from '@emodetect/model';
import { resolveSplits, stratifiedSample } from '@emodetect/train/node';
import { loadDataset, type LoadOptions } from './data.ts';
import type { Log } from './log.ts';

/** One `--data` or `--photos` value with its weight. */
export interface SourceSpec {
  path: string;
  weight: number;
  /** Photos: the detector finds each face (labelled CSVs are photos whatever the option). */
  photos: boolean;
}

/** What the run records about each source (in the model's metadata, `training.sources`). */
export type SourceRecord = TrainingSource;

/** Whether a file is a labelled-photo CSV (header with `file` and `emotion` columns). */
export async function isPhotoCsv(file: string): Promise<boolean> {
  if (!/\.csv$/i.test(file)) return false;
  const handle = await fs.open(file, 'r').catch(() => null);
  if (!handle) return false;
  try {
    const buf = Buffer.alloc(4096);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return isLabelledPhotoHeader(buf.subarray(0, bytesRead).toString('utf8').split(/\r?\n/)[0]);
  } finally {
    await handle.close();
  }
}

/** A short, unique name for a source: "fer2013" for FER2013 files, else its folder's or file's name. */
function sourceName(spec: SourceSpec, ds: ImageDataset, taken: Set<string>): string {
  const base = ds.splitNames.includes('PublicTest')
    ? 'fer2013'
    : path.basename(/\.csv$/i.test(spec.path) ? path.dirname(path.resolve(spec.path)) : path.resolve(spec.path)).toLowerCase();
  let name = base;
  for (let i = 2; taken.has(name); i++) name = `${base}-${i}`;
  taken.add(name);
  return name;
}

export interface LoadSourcesOptions extends LoadOptions {
  /** The model's input and crop geometry: photo faces are cut as the model will see them. */
  input: InputConfig;
  crop: CropConfig;
  seed: number;
  limit?: number;
  valLimit?: number;
  /** Where photo crops are cached (default: ~/.cache/emodetect). */
  cacheDir?: string;
}

/** Load every source, split each into training and validation, and mix them by their weights. */
export async function loadSources(
  specs: readonly SourceSpec[],
  opts: LoadSourcesOptions,
  log: Log,
): Promise<{ mixed: MixedSources; records: SourceRecord[]; description: string }> {
  const sources: Source[] = [];
  const records: SourceRecord[] = [];
  const descriptions: string[] = [];
  const taken = new Set<string>();
  let detector: Awaited<ReturnType<typeof createPhotoDetector>> | undefined;
  try {
    for (const spec of specs) {
      const photos = spec.photos || (await isPhotoCsv(spec.path));
      let ds: ImageDataset;
      let found: { photos: number; found: number } | undefined;
      if (photos) {
        detector ??= await createPhotoDetector();
        const t0 = performance.now();
        const r = await readPhotoFaces(spec.path, {
          detector: detector.detector,
          detectorKey: detector.key,
          input: opts.input,
          crop: opts.crop,
          cacheDir: opts.cacheDir,
          onProgress: (done, total) => log.progress(`finding faces in ${spec.path} ${done}/${total}`, done / total),
        });
        ds = r.data;
        found = { photos: r.photos, found: r.data.count };
        log.info(
          `${spec.path}: the detector found ${r.data.count} of ${r.photos} faces (${r.fromCache ? `cached in ${r.cacheFile}` : `${((performance.now() - t0) / 1000).toFixed(0)} s${r.cacheFile ? `, cached in ${r.cacheFile}` : ''}`})`,
        );
      } else {
        ds = await loadDataset(spec.path, opts, log);
      }
      const name = sourceName(spec, ds, taken);
      const splits = resolveSplits(ds, opts.seed);
      const train = opts.limit !== undefined ? stratifiedSample(ds.labels, splits.train, opts.limit, opts.seed) : splits.train;
      const val = opts.valLimit !== undefined ? stratifiedSample(ds.labels, splits.val, opts.valLimit, opts.seed + 1) : splits.val;
      if (train.length === 0 || val.length === 0)
        throw new DataError(
          `${spec.path}: no ${train.length === 0 ? 'training' : 'validation'} images after the split (${splits.description}); add more images`,
        );
      sources.push({ name, data: ds, train, val, weight: spec.weight });
      records.push({
        name,
        file: path.basename(spec.path),
        sha256: (await fs.stat(spec.path)).isFile() ? await fileSha256(spec.path) : 'folder',
        weight: spec.weight,
        kind: photos ? 'photos' : 'faces',
        trainImages: train.length,
        valImages: val.length,
        ...found,
      });
      descriptions.push(specs.length > 1 ? `${name}: ${splits.description}, weight ${spec.weight}` : splits.description);
    }
  } finally {
    detector?.dispose();
  }
  const mixed = mixSources(sources, opts.seed);
  return { mixed, records, description: descriptions.join('; ') };
}

/**
 * A photo source as the model sees it: each face found by the detector (`detect`) or cut from its
 * labelled box (`box`, the "direct crop"), with the model's own input size and crop geometry.
 */
export async function loadPhotoFaces(
  file: string,
  input: InputConfig,
  crop: Partial<CropConfig> | undefined,
  faces: 'detect' | 'box',
  log: Log,
): Promise<ImageDataset> {
  const detector = faces === 'detect' ? await createPhotoDetector() : undefined;
  try {
    const t0 = performance.now();
    const r = await readPhotoFaces(file, {
      detector: detector?.detector ?? {
        config: { model: 'short', maxFaces: 1, minScore: 0.5 },
        estimateFaces: async () => [],
        dispose: () => undefined,
      },
      detectorKey: detector?.key ?? 'none',
      input,
      crop: { ...DEFAULT_CROP, ...crop },
      faces,
      onProgress: (done, total) =>
        log.progress(`${faces === 'detect' ? 'finding faces in' : 'cutting the labelled boxes of'} ${file} ${done}/${total}`, done / total),
    });
    log.info(
      `${file}: ${faces === 'detect' ? `the detector found ${r.data.count} of ${r.photos} faces` : `${r.data.count} labelled boxes cut`} (${r.fromCache ? 'from the cache' : `${((performance.now() - t0) / 1000).toFixed(0)} s`})`,
    );
    return r.data;
  } finally {
    detector?.dispose();
  }
}
