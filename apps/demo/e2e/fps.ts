/**
 * `nx run demo:fps`: the demo's speed in headless Chromium, per backend, with the fake camera
 * playing a 640x480 scene of two FER2013 faces. For each backend: frames analysed per second,
 * the worker's time per frame, how smooth the page's own main thread stays meanwhile (gaps between
 * animation frames), and page load → first prediction on a first visit and on a reload (model files
 * then come from the browser cache). Prints a Markdown table; writes JSON to runs/demo-fps.json.
 *
 * Options: --backends wasm,webgl,cpu (default: webgpu,wasm,webgl,cpu) --seconds N (default 10)
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fer2013Dir } from '../../../tools/test-data.ts';
import { launchChromium, makeTestScene, startDemoServer } from './harness.ts';

interface Row {
  backend: string;
  active?: string;
  fps?: number;
  workerP50?: number;
  gapP95?: number;
  gapMax?: number;
  firstColdMs?: number;
  firstCachedMs?: number;
  labelsRight?: boolean;
  error?: string;
}

const { values } = parseArgs({ options: { backends: { type: 'string' }, seconds: { type: 'string' }, out: { type: 'string' } } });
const backends = (values.backends ?? 'webgpu,wasm,webgl,cpu').split(',');
const seconds = Number(values.seconds ?? 10);
const out = values.out ?? path.join('runs', 'demo-fps.json');

const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'emodetect-fps-'));
const scene = await makeTestScene(path.join(fer2013Dir(), 'fer2013.csv.gz'), tmp);
const truth = scene.scene.faces.map((f) => f.emotion).sort();
const server = await startDemoServer();
const rows: Row[] = [];
try {
  for (const backend of backends) {
    const browser = await launchChromium({ camera: scene.y4m });
    const row: Row = { backend };
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(`${server.url}/?backend=${backend}`);
      const failed = await Promise.race([
        page.waitForFunction(() => (window.__emodetect?.frames ?? 0) >= 3, null, { timeout: 180_000 }).then(() => null),
        page
          .locator('[data-testid=engine-error]')
          .waitFor({ timeout: 180_000 })
          .then(() => page.locator('[data-testid=engine-error]').textContent()),
      ]);
      if (failed) throw new Error(failed.replace('The models could not start on this backend.', '').replace(/\s*(Retry|Use auto)$/, ''));
      const first = await page.evaluate(() => window.__emodetect!);
      row.active = first.backend;
      row.firstColdMs = first.firstPredictionMs ?? undefined;
      // Frames per second over `seconds`, while the page measures its own animation-frame gaps.
      const f0 = first.frames;
      const t0 = Date.now();
      // (A string, not a function: tsx's name helpers do not exist in the page.)
      const gaps = (await page.evaluate(`new Promise((resolve) => {
        const out = [];
        let last = performance.now();
        const end = last + ${seconds * 1000};
        const tick = (t) => {
          out.push(t - last);
          last = t;
          if (t < end) requestAnimationFrame(tick);
          else resolve(out.sort((a, b) => a - b));
        };
        requestAnimationFrame(tick);
      })`)) as number[];
      const now = await page.evaluate(() => window.__emodetect!);
      row.fps = (now.frames - f0) / ((Date.now() - t0) / 1000);
      row.workerP50 = now.p50;
      row.gapP95 = gaps[Math.floor(0.95 * (gaps.length - 1))];
      row.gapMax = gaps.at(-1);
      row.labelsRight = JSON.stringify(now.faces.map((f) => f.emotion).sort()) === JSON.stringify(truth);
      // A second visit: model, detector and wasm files come from the HTTP cache.
      await page.reload();
      await page.waitForFunction(() => (window.__emodetect?.frames ?? 0) >= 1, null, { timeout: 180_000 });
      row.firstCachedMs = (await page.evaluate(() => window.__emodetect!.firstPredictionMs)) ?? undefined;
    } catch (e) {
      row.error = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    } finally {
      await browser.close();
    }
    rows.push(row);
    console.error(`${backend}: ${row.error ?? `${row.fps?.toFixed(1)} FPS`}`);
  }
} finally {
  await server.stop();
  await fs.rm(tmp, { recursive: true, force: true });
}

const f = (x: number | undefined, d = 0) => (x === undefined ? '—' : x.toFixed(d));
console.log(`\nDemo in headless Chromium (${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}), 640x480 fake camera, 2 faces\n`);
console.log(
  '| backend | FPS | worker ms/frame (p50) | page frame gap p95 / max (ms) | first prediction: first visit / cached (s) | labels right |',
);
console.log('| --- | ---: | ---: | ---: | ---: | --- |');
for (const r of rows) {
  if (r.error) console.log(`| ${r.backend} | — | — | — | — | not available: ${r.error} |`);
  else
    console.log(
      `| ${r.active} | ${f(r.fps, 1)} | ${f(r.workerP50)} | ${f(r.gapP95)} / ${f(r.gapMax)} | ${f(r.firstColdMs && r.firstColdMs / 1000, 1)} / ${f(r.firstCachedMs && r.firstCachedMs / 1000, 1)} | ${r.labelsRight ? 'yes' : 'no'} |`,
    );
}
await fs.mkdir(path.dirname(out), { recursive: true });
await fs.writeFile(
  out,
  JSON.stringify({ date: new Date().toISOString(), machine: `${os.cpus().length} x ${os.cpus()[0]?.model}`, seconds, rows }, null, 2),
);
console.log(`\nJSON: ${out}`);
