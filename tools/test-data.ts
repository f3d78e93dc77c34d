/**
 * Where tests find the real FER2013 data: $FER2013_DIR, else ../shared/data/fer2013 beside the
 * repository. Tests that need it call requireFer2013(), which FAILS (never skips) when it is absent.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

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
