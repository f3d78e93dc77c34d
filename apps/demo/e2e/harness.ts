/**
 * What the browser tests and the FPS benchmark share: a test scene of FER2013 faces whose labels
 * the Node pipeline gets right with confidence (the "clear cases"), the fake-camera video made
 * from it, the built demo served on 127.0.0.1, and Debian's Chromium driven by playwright-core.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { Jimp } from 'jimp';
import { initNodeBackend } from '@emodetect/backend/node';
import { composeScene, encodeY4m, type Scene } from '@emodetect/datasets';
import { createNodeFaceDetector, iou } from '@emodetect/face-detect/node';
import { bundledModelDir, LIVE_MODEL_NAME, loadModelFolder } from '@emodetect/model/node';
import { indicesForSplit } from '@emodetect/train';
import { readFer2013 } from '@emodetect/preprocess/node';
import { createEmotionPipeline } from '@emodetect/realtime';

export const DEMO_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const ARTIFACTS = path.join(DEMO_DIR, 'e2e', 'artifacts');

export interface TestScene {
  scene: Scene;
  /** Where the fake camera's .y4m and the scene's .png were written. */
  y4m: string;
  png: string;
  seed: number;
}

/**
 * The first scene (by seed) of two PrivateTest faces with different labels, where the Node
 * pipeline finds both faces (IoU ≥ 0.5 with the truth) and labels both correctly with
 * probability ≥ `minConfidence`. The browser must then show the same labels.
 */
export async function makeTestScene(csvGz: string, dir: string, minConfidence = 0.6): Promise<TestScene> {
  await initNodeBackend({ backend: 'wasm' });
  const ds = await readFer2013(csvGz, { size: 48 });
  const pool = indicesForSplit(ds, 'PrivateTest', 0);
  const detector = await createNodeFaceDetector();
  // The page labels live frames with the live model (when one is bundled) and photos with the
  // default one: the scene must be one both label correctly.
  const liveDir = bundledModelDir(LIVE_MODEL_NAME);
  const dirs = existsSync(path.join(liveDir, 'model.json')) ? [bundledModelDir(), liveDir] : [bundledModelDir()];
  const models = await Promise.all(dirs.map((d) => loadModelFolder(d)));
  const pipelines = models.map((m) => createEmotionPipeline(detector, m));
  const opts = { width: 640, height: 480, minFaces: 2, maxFaces: 2, minSize: 180, maxSize: 220, rotation: 0, occlusion: 0 };
  for (let seed = 1; seed <= 400; seed++) {
    const scene = composeScene(ds, pool, seed, opts);
    if (scene.faces.length !== 2 || scene.faces[0].emotion === scene.faces[1].emotion) continue;
    let ok = true;
    for (const pipeline of pipelines) {
      const found = await pipeline.detect(scene.image);
      ok &&=
        found.length === 2 &&
        scene.faces.every((truth) =>
          found.some((f) => iou(f.box, truth.faceBox) >= 0.5 && f.emotion === truth.emotion && f.probabilities[f.emotion] >= minConfidence),
        );
      if (!ok) break;
    }
    if (!ok) continue;
    detector.dispose();
    for (const m of models) m.model.dispose();
    await fs.mkdir(dir, { recursive: true });
    const y4m = path.join(dir, 'camera.y4m');
    // A still scene, one second at 10 FPS: Chromium loops it.
    await fs.writeFile(y4m, encodeY4m(Array(10).fill(scene.image), 10));
    const png = path.join(dir, 'scene.png');
    const img = new Jimp({ width: scene.image.width, height: scene.image.height });
    img.bitmap.data.set(scene.image.data);
    await img.write(png as `${string}.png`);
    return { scene, y4m, png, seed };
  }
  throw new Error('makeTestScene: no seed in 1..400 gave a scene the Node pipeline labels correctly (is the bundled model broken?)');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

export interface DemoServer {
  url: string;
  stop(): Promise<void>;
}

/** `next start` on a free port of 127.0.0.1; the demo must have been built (`nx run demo:build`). */
export async function startDemoServer(): Promise<DemoServer> {
  if (!existsSync(path.join(DEMO_DIR, '.next', 'BUILD_ID')) || !existsSync(path.join(DEMO_DIR, 'public', 'assets', 'manifest.json'))) {
    throw new Error(`the demo is not built: run "npx nx run demo:build" (or "npm run build -w @emodetect/demo") first`);
  }
  const port = await freePort();
  const next = path.join(path.dirname(fileURLToPath(import.meta.resolve('next/package.json'))), 'dist', 'bin', 'next');
  const child: ChildProcess = spawn(process.execPath, [next, 'start', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: DEMO_DIR,
    env: { ...process.env, NEXT_TELEMETRY_DISABLED: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout?.on('data', (d) => (log += d));
  child.stderr?.on('data', (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`next start exited with ${child.exitCode}: ${log.trim().split('\n').pop()}`);
    try {
      if ((await fetch(url)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 60_000) {
      child.kill();
      throw new Error(`next start did not answer on ${url} within 60 s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return {
    url,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}

/** Debian's Chromium ($CHROMIUM_PATH, else /usr/bin/chromium); a clear error when it is missing. */
export function chromiumPath(): string {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  if (!existsSync(p)) throw new Error(`Chromium not found at ${p}: install it (apt-get install -y chromium) or set CHROMIUM_PATH`);
  return p;
}

export interface LaunchOptions {
  /** A .y4m file for the fake camera; `none` = no camera at all. */
  camera: string | 'none';
  /** Answer the camera permission prompt with yes (default) or no. */
  allowCamera?: boolean;
}

/** Headless Chromium, offline, with a fresh profile (Playwright makes one per launch) and a fake camera. */
export async function launchChromium(opts: LaunchOptions): Promise<Browser> {
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ];
  if (opts.camera !== 'none') {
    args.push('--use-fake-device-for-media-stream', `--use-file-for-fake-video-capture=${path.resolve(opts.camera)}`);
    args.push(opts.allowCamera === false ? '--deny-permission-prompts' : '--use-fake-ui-for-media-stream');
  } else args.push('--use-fake-ui-for-media-stream');
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args, timeout: 60_000 });
}
