/**
 * Build the publishable npm packages: each library's TypeScript compiles to JavaScript and `.d.ts`
 * (tsc, the sources' layout kept: `src/x.ts` → `src/x.js` + `src/x.d.ts`) in its `dist/` folder,
 * with a manifest made from the library's own `package.json`: the `exports` map points at the
 * built files (`types` first), no workspace-only fields or dependencies, `license`, `files`,
 * `sideEffects`, the root LICENSE and a README. The data packages (`@emodetect/models`,
 * `@emodetect/detector-weights`) are packed as they are.
 *
 *   npx tsx tools/build-packages.ts [--pack <folder>]     (nx run tools:packages)
 *
 * With --pack, `npm pack` writes every package's tarball into the folder (what `npm publish`
 * would upload); the consumer test (tools/consumer.test.ts) installs them into a fresh project.
 * In the workspace, packages keep resolving to their TypeScript sources.
 */
import { execFileSync } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface PackageSpec {
  /** Folder, relative to the root. */
  dir: string;
  /** Packed as it is (no build): data packages. */
  data?: boolean;
  /** Files besides the compiled sources, copied as they are (relative to the package). */
  extra?: string[];
  /** `sideEffects` of the manifest: false, or the built files that have them. */
  sideEffects?: false | string[] | true;
  /** Scripts kept in the published manifest. */
  scripts?: Record<string, string>;
  /** Dependencies that become optional peers (loaded with a dynamic import when present). */
  optionalPeers?: string[];
}

/** In dependency order: each library compiles against the `.d.ts` of those before it. */
export const PACKAGES: readonly PackageSpec[] = [
  { dir: 'models', data: true },
  { dir: 'libs/detector-weights', data: true },
  { dir: 'libs/augment', sideEffects: false },
  { dir: 'libs/preprocess', sideEffects: ['./src/decode-worker.js', './src/decode-entry.mjs'] },
  { dir: 'libs/metrics', sideEffects: false },
  { dir: 'libs/backend', sideEffects: true },
  // Registers the transformer layers with tfjs' serialisation (model folders name them).
  { dir: 'libs/model', sideEffects: ['./src/transformer.js'] },
  { dir: 'libs/face-detect', sideEffects: false },
  { dir: 'libs/realtime', sideEffects: false },
  { dir: 'libs/sources', sideEffects: false },
  { dir: 'libs/train', sideEffects: ['./src/worker.js', './src/worker-entry.mjs'] },
  {
    dir: 'libs/native',
    sideEffects: false,
    extra: ['src/emonative.cpp', 'scripts/build.mjs'],
    // Builds build/libemonative.so against Debian's libdnnl-dev when it can; quiet when it cannot.
    scripts: { install: 'node scripts/build.mjs --quiet-missing' },
  },
  { dir: 'libs/emodetect', sideEffects: false, optionalPeers: ['@emodetect/native'], extra: ['bin/emodetect-assets.mjs'] },
];

type Exports = string | { [condition: string]: Exports };

interface Manifest {
  name: string;
  version: string;
  description?: string;
  license?: string;
  exports?: Exports;
  bin?: Record<string, string>;
  dependencies?: Record<string, string>;
  [field: string]: unknown;
}

/** `./src/x.ts` → `{ types: './src/x.d.ts', default: './src/x.js' }`, through nested conditions. */
export function builtExports(e: Exports): Exports {
  if (typeof e === 'string') {
    if (!e.endsWith('.ts')) return e;
    const base = e.slice(0, -3);
    return { types: `${base}.d.ts`, default: `${base}.js` };
  }
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, builtExports(v)]));
}

/** Entry points of the exports map (`.ts` files), relative to the package. */
function entryFiles(e: Exports | undefined): string[] {
  if (e === undefined) return [];
  if (typeof e === 'string') return e.endsWith('.ts') ? [e] : [];
  return Object.values(e).flatMap(entryFiles);
}

async function readManifest(dir: string): Promise<Manifest> {
  return JSON.parse(await fs.readFile(path.join(ROOT, dir, 'package.json'), 'utf8')) as Manifest;
}

/**
 * The `paths` the compiler needs: each workspace package's exports, mapped to its built
 * declarations (a library compiles against those of the libraries before it).
 */
function declarationPaths(manifests: ReadonlyMap<string, Manifest>): Record<string, string[]> {
  const paths: Record<string, string[]> = {};
  for (const [dir, m] of manifests) {
    if (!m.exports || typeof m.exports === 'string') continue;
    for (const [sub, target] of Object.entries(m.exports)) {
      const entry = entryFiles(target).at(-1);
      if (entry) paths[path.posix.join(m.name, sub)] = [path.join(ROOT, dir, 'dist', entry.replace(/\.ts$/, '.d.ts'))];
    }
  }
  return paths;
}

async function compile(p: PackageSpec, m: Manifest, paths: Record<string, string[]>): Promise<void> {
  const src = path.join(ROOT, p.dir, 'src');
  const dist = path.join(ROOT, p.dir, 'dist');
  // Every non-test source: the exports' entries and the worker threads' modules.
  const files = (await fs.readdir(src))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('fuzz'))
    .map((f) => path.join(src, f));
  const config = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
      module: 'ESNext',
      moduleResolution: 'Bundler',
      allowImportingTsExtensions: true,
      rewriteRelativeImportExtensions: true,
      declaration: true,
      rootDir: src,
      outDir: path.join(dist, 'src'),
      strict: true,
      noImplicitOverride: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
      esModuleInterop: true,
      skipLibCheck: true,
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
      paths,
    },
    files,
  };
  const tsconfig = path.join(ROOT, 'tmp', 'packages-build', `${m.name.replace('/', '__')}.tsconfig.json`);
  await fs.mkdir(path.dirname(tsconfig), { recursive: true });
  await fs.writeFile(tsconfig, JSON.stringify(config, null, 2));
  try {
    execFileSync(path.join(ROOT, 'node_modules', '.bin', 'tsc'), ['-p', tsconfig], { cwd: ROOT, stdio: 'pipe' });
  } catch (e) {
    const out = (e as { stdout?: Buffer }).stdout?.toString() ?? String(e);
    throw new Error(`build-packages: tsc failed for ${m.name}:\n${out}`);
  }
  // tsc rewrites `.ts` specifiers in the JavaScript, not in the declarations: do it there.
  for (const f of await fs.readdir(path.join(dist, 'src'))) {
    if (!f.endsWith('.d.ts')) continue;
    const file = path.join(dist, 'src', f);
    const text = await fs.readFile(file, 'utf8');
    await fs.writeFile(file, text.replace(/((?:from\s+|import\()\s*['"]\.\.?\/[^'"]+)\.ts(['"])/g, '$1.js$2'));
  }
  // Worker entries (plain JavaScript): they load the built module when it is there.
  for (const f of await fs.readdir(src)) if (f.endsWith('.mjs')) await fs.copyFile(path.join(src, f), path.join(dist, 'src', f));
}

function publishedManifest(p: PackageSpec, m: Manifest): Manifest {
  const deps = { ...m.dependencies };
  delete deps.tsx;
  const peers: Record<string, string> = {};
  for (const name of p.optionalPeers ?? []) {
    if (deps[name]) peers[name] = deps[name];
    delete deps[name];
  }
  const out: Manifest = {
    name: m.name,
    version: m.version,
    description: m.description,
    license: m.license ?? 'MIT',
    type: 'module',
    sideEffects: p.sideEffects ?? false,
    exports: builtExports(m.exports ?? {}),
    files: ['src/**/*.js', 'src/**/*.d.ts', 'src/**/*.mjs', ...(p.extra ?? []), 'README.md', 'LICENSE'],
    engines: { node: '>=20.19' },
    dependencies: deps,
  };
  if (m.bin) out.bin = m.bin;
  if (p.scripts) out.scripts = p.scripts;
  if (Object.keys(peers).length) {
    out.peerDependencies = peers;
    out.peerDependenciesMeta = Object.fromEntries(Object.keys(peers).map((n) => [n, { optional: true }]));
  }
  return out;
}

/** The package's README, or one made from its description. */
async function readme(p: PackageSpec, m: Manifest): Promise<string> {
  const own = await fs.readFile(path.join(ROOT, p.dir, 'README.md'), 'utf8').catch(() => null);
  if (own) return own;
  return `# ${m.name}\n\n${m.description ?? ''}\n\nPart of [emodetect](https://github.com/emodetect/emodetect): facial-expression emotion recognition in TypeScript, for Node and the browser. Most users want the one-call package \`emodetect\`.\n`;
}

/** Build (or check) every package; returns the folders to pack. */
export async function buildPackages(log: (s: string) => void = () => undefined): Promise<string[]> {
  // Every manifest is read once.
  const manifests = new Map<string, Manifest>();
  for (const p of PACKAGES) manifests.set(p.dir, await readManifest(p.dir));
  const paths = declarationPaths(manifests);
  const folders: string[] = [];
  for (const p of PACKAGES) {
    const m = manifests.get(p.dir)!;
    if (p.data) {
      folders.push(path.join(ROOT, p.dir));
      continue;
    }
    const t0 = performance.now();
    const dist = path.join(ROOT, p.dir, 'dist');
    await fs.rm(dist, { recursive: true, force: true });
    await compile(p, m, paths);
    for (const f of p.extra ?? []) {
      await fs.mkdir(path.dirname(path.join(dist, f)), { recursive: true });
      await fs.copyFile(path.join(ROOT, p.dir, f), path.join(dist, f));
    }
    await fs.writeFile(path.join(dist, 'package.json'), JSON.stringify(publishedManifest(p, m), null, 2) + '\n');
    await fs.copyFile(path.join(ROOT, 'LICENSE'), path.join(dist, 'LICENSE'));
    await fs.writeFile(path.join(dist, 'README.md'), await readme(p, m));
    folders.push(dist);
    log(`built ${m.name} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return folders;
}

/** `npm pack` each folder into `out`; returns the tarballs' paths. */
export function packFolders(folders: readonly string[], out: string): string[] {
  return folders.map((dir) => {
    const json = execFileSync('npm', ['pack', dir, '--json', '--pack-destination', out], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const [info] = JSON.parse(json.toString()) as { filename: string }[];
    return path.join(out, info.filename);
  });
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { pack: { type: 'string' } } });
  const folders = await buildPackages((s) => process.stderr.write(`${s}\n`));
  if (values.pack) {
    await fs.mkdir(values.pack, { recursive: true });
    for (const t of packFolders(folders, path.resolve(values.pack))) process.stdout.write(`${path.relative(process.cwd(), t)}\n`);
  }
}
