/**
 * Where tests find the real FER2013 data: $FER2013_DIR, else ../shared/data/fer2013 beside the
 * repository. Tests that need it call requireFer2013(), which FAILS (never skips) when it is absent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ImageDataset } from '@emodetect/preprocess';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

export function fer2013Dir(): string {
  return process.env.FER2013_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'fer2013');
}

/** Path of fer2013.csv.gz; throws a clear error when the data is missing. */
export function requireFer2013(file = 'fer2013.csv.gz'): string {
  const p = path.join(fer2013Dir(), file);
  if (!existsSync(p)) {
    throw new Error(
      `FER2013 data not found at ${p}: set FER2013_DIR to the folder holding ${file} (tests that need real data fail rather than skip)`,
    );
  }
  return p;
}

/** The ExpW folder: $EXPW_DIR, else ../shared/data/expw beside the repository. */
export function expwDir(): string {
  return process.env.EXPW_DIR ?? path.resolve(REPO_ROOT, '..', 'shared', 'data', 'expw');
}

/** Path of ExpW's labels.csv; throws a clear error when the data is missing (tests fail rather than skip). */
export function requireExpw(): string {
  const p = path.join(expwDir(), 'labels.csv');
  if (!existsSync(p)) throw new Error(`ExpW data not found at ${p}: set EXPW_DIR to the folder holding labels.csv and images/`);
  return p;
}

/** A learnable toy set: class 0 = horizontal stripes, 1 = vertical stripes, 2 = dark noise. */
export function toyStripes(n: number, seed = 1): ImageDataset {
  let s = seed;
  const rnd = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const pixels = new Uint8Array(n * 2304);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % 3;
    labels[i] = c;
    const phase = Math.floor(rnd() * 6);
    for (let y = 0; y < 48; y++) {
      for (let x = 0; x < 48; x++) {
        const on = c === 0 ? (y + phase) % 6 < 3 : c === 1 ? (x + phase) % 6 < 3 : false;
        pixels[i * 2304 + y * 48 + x] = Math.min(255, (on ? 200 : 40) + Math.floor(rnd() * 40));
      }
    }
  }
  return {
    width: 48,
    height: 48,
    count: n,
    pixels,
    labels,
    classNames: ['h', 'v', 'dark'],
    splits: new Uint8Array(n),
    splitNames: ['all'],
    origins: Array.from({ length: n }, (_, i) => `toy:${i}`),
    rowIds: Int32Array.from({ length: n }, (_, i) => i),
  };
}
