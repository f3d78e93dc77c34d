/**
 * The demo in a real browser: Debian's Chromium, headless, with a fake camera playing a scene of
 * two FER2013 faces of known labels. Needs the built demo (nx runs demo:build first), Chromium and
 * FER2013; each test saves a screenshot to e2e/artifacts/ when it fails.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { iou } from '@emodetect/face-detect';
import { requireFer2013 } from '../../../tools/test-data.ts';
import { ARTIFACTS, launchChromium, makeTestScene, startDemoServer, type DemoServer, type TestScene } from './harness.ts';

let server: DemoServer;
let scene: TestScene;
let tmp: string;
const browsers: Browser[] = [];

beforeAll(async () => {
  tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'emodetect-e2e-'));
  scene = await makeTestScene(requireFer2013(), tmp);
  server = await startDemoServer();
});

afterAll(async () => {
  await Promise.all(browsers.map((b) => b.close()));
  await server?.stop();
  if (tmp) await fs.rm(tmp, { recursive: true, force: true });
});

async function newPage(opts: Parameters<typeof launchChromium>[0]): Promise<Page> {
  const browser = await launchChromium(opts);
  browsers.push(browser);
  const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  page.on('pageerror', (e) => console.error(`[page error] ${e.message}`));
  return page;
}

/** Run `body`; on failure save a screenshot of `page` named after the test, then rethrow. */
async function withScreenshot(name: string, page: Page, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (e) {
    await fs.mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true }).catch(() => undefined);
    throw e;
  }
}

const expectedLabels = () => scene.scene.faces.map((f) => f.emotion).sort();

describe('live webcam page', () => {
  it('sends the security headers: a Content-Security-Policy that allows its own origin only, no X-Powered-By', async () => {
    const res = await fetch(server.url);
    expect(res.ok).toBe(true);
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toMatch(/connect-src 'self'(;|$)/);
    expect(csp).toMatch(/default-src 'self'/);
    expect(csp).toMatch(/frame-ancestors 'none'/);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('referrer-policy')).toBe('no-referrer');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('boxes both faces of the fake camera and labels them with their known emotions', async () => {
    const page = await newPage({ camera: scene.y4m });
    // Everything the page asks for comes from its own server: nothing leaves the machine. And the
    // page works under its Content-Security-Policy (a violation would be logged to the console).
    const origin = new URL(server.url).origin;
    const requests: string[] = [];
    const violations: string[] = [];
    page.on('request', (r) => requests.push(r.url()));
    page.on('console', (m) => {
      if (/Content Security Policy|Refused to/i.test(m.text())) violations.push(m.text());
    });
    await withScreenshot('live', page, async () => {
      await page.goto(server.url);
      // Unmirrored, so that the overlay's pixels line up with the scene's coordinates.
      await page.uncheck('[data-testid=mirror]');
      const unmirroredFrom = await page.evaluate(() => window.__emodetect?.frames ?? 0);
      // The model loads in a worker on wasm; then frames flow. Wait for both faces, labelled.
      await page.waitForFunction(
        (from) => (window.__emodetect?.faces.length ?? 0) === 2 && window.__emodetect!.frames >= from + 3,
        unmirroredFrom,
        { timeout: 120_000 },
      );
      const state = await page.evaluate(() => window.__emodetect!);
      expect(state.firstPredictionMs).toBeGreaterThan(0);
      // Each known face is boxed (IoU ≥ 0.5) with its known label.
      for (const truth of scene.scene.faces) {
        const match = state.faces.find((f) => iou(f.box, truth.faceBox) >= 0.5);
        expect(match, `no box on the ${truth.emotion} face`).toBeDefined();
        expect(match!.emotion).toBe(truth.emotion);
      }
      // The panel shows the same labels, and the overlay has the boxes drawn in it.
      const shown = await page.locator('[data-testid=face]').evaluateAll((els) => els.map((e) => e.getAttribute('data-emotion') ?? ''));
      expect(shown.sort()).toEqual(expectedLabels());
      const painted = await page.evaluate(
        (boxes) => {
          const c = document.querySelector<HTMLCanvasElement>('[data-testid=overlay]')!;
          const ctx = c.getContext('2d')!;
          // Sample the left edge of each box: the stroke is there.
          return boxes.map((b) => {
            const d = ctx.getImageData(Math.max(0, Math.round(b.x) - 3), Math.round(b.y + b.height / 2) - 3, 7, 7).data;
            let alpha = 0;
            for (let i = 3; i < d.length; i += 4) alpha = Math.max(alpha, d[i]);
            return alpha;
          });
        },
        state.faces.map((f) => f.box),
      );
      expect(painted.every((a) => a > 200)).toBe(true);
      await expect(page.locator('[data-testid=active-backend]').textContent()).resolves.toMatch(/wasm|webgl|cpu|webgpu/);
      expect(requests.length).toBeGreaterThan(5);
      expect(requests.filter((u) => !u.startsWith(origin) && !/^(blob|data):/.test(u))).toEqual([]);
      expect(violations).toEqual([]);
    });
  });

  it('pauses and resumes, and switching the backend restarts the models', async () => {
    const page = await newPage({ camera: scene.y4m });
    await withScreenshot('live-controls', page, async () => {
      await page.goto(server.url);
      await page.waitForFunction(() => (window.__emodetect?.frames ?? 0) >= 2, null, { timeout: 120_000 });
      await page.click('[data-testid=pause]');
      await expect(page.locator('[data-testid=status]').textContent()).resolves.toContain('paused');
      const frozen = await page.evaluate(() => window.__emodetect!.frames);
      await page.waitForTimeout(1500);
      expect(await page.evaluate(() => window.__emodetect!.frames)).toBeLessThanOrEqual(frozen + 1);
      await page.click('[data-testid=pause]');
      await page.waitForFunction((n) => window.__emodetect!.frames > n + 1, frozen, { timeout: 60_000 });
      // A tab in the background stops analysing, and starts again when it is visible.
      const setVisibility = (state: string) =>
        page.evaluate((v) => {
          Object.defineProperty(document, 'visibilityState', { value: v, configurable: true });
          document.dispatchEvent(new Event('visibilitychange'));
        }, state);
      await setVisibility('hidden');
      await expect(page.locator('[data-testid=status]').textContent()).resolves.toContain('paused while the tab is in the background');
      const hiddenAt = await page.evaluate(() => window.__emodetect!.frames);
      await page.waitForTimeout(1500);
      expect(await page.evaluate(() => window.__emodetect!.frames)).toBeLessThanOrEqual(hiddenAt + 1);
      await setVisibility('visible');
      await page.waitForFunction((n) => window.__emodetect!.frames > n + 1, hiddenAt, { timeout: 60_000 });
      await page.selectOption('[data-testid=backend]', 'cpu');
      await page.waitForFunction(() => document.querySelector('[data-testid=active-backend]')?.textContent === 'cpu', null, {
        timeout: 120_000,
      });
    });
  });

  it('explains a denied camera permission and offers a retry', async () => {
    const page = await newPage({ camera: scene.y4m, allowCamera: false });
    await withScreenshot('camera-denied', page, async () => {
      await page.goto(server.url);
      const alert = page.locator('[data-testid=camera-error]');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.getAttribute('data-kind')).toBe('denied');
      expect(await alert.textContent()).toMatch(/permission was denied/i);
      await expect(alert.locator('button', { hasText: 'Retry' }).count()).resolves.toBe(1);
    });
  });

  it('says when the camera is unplugged mid-stream, and Retry brings it back', async () => {
    const page = await newPage({ camera: scene.y4m });
    await withScreenshot('camera-unplugged', page, async () => {
      await page.goto(server.url);
      await page.waitForFunction(() => (window.__emodetect?.frames ?? 0) >= 2, null, { timeout: 120_000 });
      // What the browser does when a camera goes away: the track ends.
      await page.evaluate(() => {
        const video = document.querySelector<HTMLVideoElement>('[data-testid=video]')!;
        const [track] = (video.srcObject as MediaStream).getVideoTracks();
        track.stop();
        track.dispatchEvent(new Event('ended'));
      });
      const alert = page.locator('[data-testid=camera-error]');
      await alert.waitFor({ timeout: 10_000 });
      expect(await alert.getAttribute('data-kind')).toBe('unplugged');
      const before = await page.evaluate(() => window.__emodetect!.frames);
      await alert.locator('button', { hasText: 'Retry' }).click();
      await alert.waitFor({ state: 'detached', timeout: 30_000 });
      await page.waitForFunction((n) => window.__emodetect!.frames > n + 1, before, { timeout: 60_000 });
    });
  });

  it('says when there is no camera at all', async () => {
    const page = await newPage({ camera: 'none' });
    await withScreenshot('no-camera', page, async () => {
      await page.goto(server.url);
      const alert = page.locator('[data-testid=camera-error]');
      await alert.waitFor({ timeout: 30_000 });
      expect(await alert.getAttribute('data-kind')).toBe('no-camera');
      expect(await alert.textContent()).toMatch(/No camera was found/);
    });
  });
});

describe('image mode', () => {
  it('annotates a dropped photo, reports a broken file, and downloads the JSON', async () => {
    const page = await newPage({ camera: 'none' });
    await withScreenshot('image-mode', page, async () => {
      const broken = path.join(tmp, 'broken.png');
      await fs.writeFile(broken, Buffer.from('\x89PNG\r\n\x1a\n this is not really a png'));
      await page.goto(`${server.url}/image`);
      await page.waitForFunction(() => document.querySelector('[data-testid=dropzone]')?.textContent?.includes('Ready'), null, {
        timeout: 120_000,
      });
      await page.setInputFiles('[data-testid=file-input]', [scene.png, broken]);
      await page.locator('[data-testid=result]').nth(1).waitFor({ timeout: 60_000 });
      const good = page.locator('[data-testid=result][data-file="scene.png"]');
      const labels = await good.locator('[data-testid=face]').evaluateAll((els) => els.map((e) => e.getAttribute('data-emotion') ?? ''));
      expect(labels.sort()).toEqual(expectedLabels());
      expect(await page.locator('[data-testid=result][data-file="broken.png"] [data-testid=file-error]').textContent()).toMatch(
        /broken\.png: cannot be analysed/,
      );
      const [download] = await Promise.all([page.waitForEvent('download'), page.click('[data-testid=download]')]);
      const json = JSON.parse(await fs.readFile((await download.path())!, 'utf8')) as {
        files: {
          file: string;
          faces?: { box: { x: number; y: number; width: number; height: number }; emotion: string }[];
          error?: string;
        }[];
      };
      const entry = json.files.find((f) => f.file === 'scene.png')!;
      expect(entry.faces!.map((f) => f.emotion).sort()).toEqual(expectedLabels());
      for (const truth of scene.scene.faces) expect(entry.faces!.some((f) => iou(f.box, truth.faceBox) >= 0.5)).toBe(true);
      expect(json.files.find((f) => f.file === 'broken.png')?.error).toBeTruthy();
    });
  });
});
