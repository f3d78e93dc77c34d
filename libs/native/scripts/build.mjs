#!/usr/bin/env node
// Build the native training library (build/libemonative.so) from src/emonative.cpp against
// Debian's oneDNN (`apt-get install libdnnl-dev g++`). Runs at `npm ci` (package install script)
// and by `npm run build -w @emodetect/native`. With --quiet-missing (the install script), a machine
// without a compiler or oneDNN gets one line and exit 0: the wasm backend remains.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, statSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const src = join(root, 'src', 'emonative.cpp');
const out = join(root, 'build', 'libemonative.so');
const quietMissing = process.argv.includes('--quiet-missing');
const force = process.argv.includes('--force');
const cxx = process.env.CXX || 'g++';

function missing(why) {
  const msg = `@emodetect/native: not built (${why}); training and inference use wasm. For the native backend: apt-get install libdnnl-dev g++, then npm run build -w @emodetect/native`;
  if (quietMissing) {
    console.warn(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}

if (process.platform !== 'linux' || process.arch !== 'x64') missing(`${process.platform}-${process.arch} is not supported, only linux-x64`);
try {
  execFileSync(cxx, ['--version'], { stdio: 'ignore' });
} catch {
  missing(`no C++ compiler (${cxx})`);
}
const header = ['/usr/include/oneapi/dnnl/dnnl.hpp', '/usr/include/dnnl.hpp'].find((h) => existsSync(h));
if (!header) missing('oneDNN headers not found (Debian package libdnnl-dev)');

if (!force && existsSync(out) && statSync(out).mtimeMs > statSync(src).mtimeMs) {
  console.log(`@emodetect/native: ${out} is up to date`);
  process.exit(0);
}
mkdirSync(dirname(out), { recursive: true });
const tmp = `${out}.tmp-${process.pid}`;
const args = ['-O3', '-march=native', '-std=c++17', '-fopenmp', '-shared', '-fPIC', '-Wall', '-o', tmp, src, '-ldnnl'];
try {
  execFileSync(cxx, args, { stdio: ['ignore', 'inherit', 'inherit'] });
  renameSync(tmp, out);
} catch (e) {
  rmSync(tmp, { force: true });
  missing(`compiling ${src} failed: ${e.message.split('\n')[0]}`);
}
console.log(`@emodetect/native: built ${out}`);
