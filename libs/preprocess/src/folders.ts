/** Image-folder datasets: `<root>/<split>/<class>/*` or `<root>/<class>/*`. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { resizeGray } from './image.ts';
import { DataError, FER2013_CLASSES, type ImageDataset } from './dataset.ts';
import { decodeImageFile, IMAGE_EXTENSIONS } from './image-files.ts';

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
