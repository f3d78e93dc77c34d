/** Loading a dataset from a path: a FER2013 CSV (plain or .gz) or an image folder. */
import { promises as fs } from 'node:fs';
import {
  DataError,
  readFer2013,
  readFer2013U8,
  readFerPlus,
  applyFerPlus,
  readImageFolder,
  type ImageDataset,
} from '@emodetect/preprocess/node';
import type { Log } from './log.ts';

export interface LoadOptions {
  skipBad: boolean;
  size: number;
  ferPlus?: string;
  ferPlusMode?: 'majority' | 'soft';
}

export async function loadDataset(file: string, opts: LoadOptions, log: Log): Promise<ImageDataset> {
  const stat = await fs.stat(file).catch(() => null);
  if (!stat) throw new DataError(`${file}: not found`);
  const t0 = performance.now();
  let ds: ImageDataset;
  let bad = 0;
  if (stat.isDirectory()) {
    ds = await readImageFolder(file, {
      size: opts.size,
      skipBad: opts.skipBad,
      onBadFile: (m) => (bad++, log.warn(`skipped ${m}`)),
      onProgress: (done, total) => log.progress(`reading images ${done}/${total}`, done / total),
    });
  } else if (file.endsWith('.u8')) {
    ds = await readFer2013U8(file);
  } else {
    ds = await readFer2013(file, {
      size: opts.size,
      skipBad: opts.skipBad,
      onBadRow: (m) => (bad++, bad <= 20 ? log.warn(`skipped ${m}`) : undefined),
      onProgress: (p) => log.progress(`reading ${file} (${p.rows} rows)`, p.bytes / p.totalBytes),
    });
  }
  if (opts.ferPlus) {
    const fp = await readFerPlus(opts.ferPlus);
    const before = ds.count;
    ds = applyFerPlus(ds, fp, opts.ferPlusMode ?? 'majority');
    log.info(`FER+ ${opts.ferPlusMode ?? 'majority'} labels from ${opts.ferPlus}: ${ds.count} of ${before} images have votes`);
  }
  log.info(
    `read ${ds.count} images (${ds.splitNames.join(', ')}) from ${file} in ${((performance.now() - t0) / 1000).toFixed(1)} s${bad ? `, skipped ${bad} bad` : ''}`,
  );
  return ds;
}
