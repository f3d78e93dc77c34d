/** `emodetect detect` end to end, on scenes composed from FER2013 faces and on broken files. */
import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jimp } from 'jimp';
import { initNodeBackend } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE } from '@emodetect/datasets';
import { createNodeFaceDetector } from '@emodetect/face-detect/node';
import { createModel, saveModelFolder } from '@emodetect/model/node';
import { readFer2013, splitIndices } from '@emodetect/preprocess/node';
import { REPO_ROOT, requireFer2013 } from '../../../tools/test-data.ts';
import { videoWriter } from './video.ts';

const BIN = path.join(REPO_ROOT, 'apps/trainer/bin/emodetect.mjs');

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Encode `frames` frames of `image`, shifted right by 4 px per frame, as a 10 fps MP4. */
async function writeVideo(
  file: string,
  image: { width: number; height: number; data: Uint8Array | Uint8ClampedArray },
  frames: number,
): Promise<void> {
  const { width: w, height: h } = image;
  const writer = videoWriter(file, w, h, 10);
  for (let f = 0; f < frames; f++) {
    const frame = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      const row = image.data.subarray(y * w * 4, (y + 1) * w * 4);
      frame.set(row.subarray(0, (w - 4 * f) * 4), (y * w + 4 * f) * 4);
      frame.set(row.subarray((w - 4 * f) * 4), y * w * 4);
    }
    await writer.write(frame);
  }
  await writer.close();
}

let dir: string;
let images: string;
let model: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'emodetect-detect-'));
  images = path.join(dir, 'images');
  model = path.join(dir, 'model');
  await initNodeBackend({ backend: 'wasm' });
  await saveModelFolder(createModel({ arch: 'micro', seed: 1 }), model);
  await mkdir(images, { recursive: true });
  const ds = await readFer2013(requireFer2013());
  const pool = splitIndices(ds, 'PrivateTest');
  for (let s = 0; s < 3; s++) {
    const scene = composeScene(ds, pool, 2000 + s, {
      ...DEFAULT_SCENE,
      minFaces: 1,
      maxFaces: 1,
      minSize: 200,
      maxSize: 240,
      occlusion: 0,
      rotation: 0,
    });
    const img = new Jimp({ width: scene.image.width, height: scene.image.height });
    img.bitmap.data.set(scene.image.data);
    await img.write(path.join(images, `scene-${s}.${s === 2 ? 'jpg' : 'png'}`) as `${string}.png`);
  }
  // A 2-second, 10 fps video: one face sliding to the right over a textured background.
  // (the first composed scene whose face the detector finds)
  const detector = await createNodeFaceDetector();
  const stillOptions = { ...DEFAULT_SCENE, minFaces: 1, maxFaces: 1, minSize: 220, maxSize: 240, occlusion: 0, rotation: 0 };
  let still = composeScene(ds, pool, 2000, stillOptions);
  for (let seed = 2001; (await detector.estimateFaces(still.image)).length === 0 && seed < 2050; seed++)
    still = composeScene(ds, pool, seed, stillOptions);
  detector.dispose();
  await writeVideo(path.join(dir, 'clip.mp4'), still.image, 20);
  const empty = composeScene(ds, pool, 3000, { ...DEFAULT_SCENE, minFaces: 0, maxFaces: 0 });
  const e = new Jimp({ width: 640, height: 480 });
  e.bitmap.data.set(empty.image.data);
  await e.write(path.join(images, 'empty.png') as `${string}.png`);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('emodetect detect', () => {
  it('prints one JSON object with every face of every file, and annotates', async () => {
    const r = await cli(['detect', images, '--model', model, '--json', '--annotate', path.join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const { files } = JSON.parse(lines[0]);
    expect(files.map((f: { file: string }) => path.basename(f.file))).toEqual(['empty.png', 'scene-0.png', 'scene-1.png', 'scene-2.jpg']);
    expect(files[0].faces).toEqual([]);
    const faces = files.slice(1).flatMap((f: { faces: unknown[] }) => f.faces);
    expect(faces.length).toBeGreaterThanOrEqual(2);
    for (const f of faces) {
      expect(Object.keys(f)).toEqual(['box', 'score', 'emotion', 'probabilities']);
      expect(Object.keys(f.box)).toEqual(['x', 'y', 'width', 'height']);
      expect(Object.keys(f.probabilities)).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    }
    expect((await readdir(path.join(dir, 'out'))).sort()).toEqual(['empty.png', 'scene-0.png', 'scene-1.png', 'scene-2.jpg']);
  });

  it('prints CSV rows, one per face, for a glob', async () => {
    const r = await cli(['detect', path.join(images, 'scene-*.png'), '--model', model, '--csv']);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.stdout.trim().split('\n');
    expect(rows[0]).toBe('file,frame,time,face,x,y,width,height,score,emotion,angry,disgust,fear,happy,sad,surprise,neutral');
    expect(rows.length).toBeGreaterThanOrEqual(2);
    for (const row of rows.slice(1)) expect(row.split(',')).toHaveLength(17);
  });

  it('reports each bad file in one line, goes on with the others, and exits 1', async () => {
    const bad = path.join(dir, 'bad');
    await rm(bad, { recursive: true, force: true });
    const { copyFile, readFile } = await import('node:fs/promises');
    await mkdir(bad, { recursive: true });
    await copyFile(path.join(images, 'scene-0.png'), path.join(bad, 'good.png'));
    await writeFile(path.join(bad, 'text.png'), 'this is not an image');
    await writeFile(path.join(bad, 'empty.jpg'), '');
    const png = await readFile(path.join(images, 'scene-1.png'));
    await writeFile(path.join(bad, 'truncated.png'), png.subarray(0, 200));
    // A PNG header that claims 20000 x 20000 pixels.
    const huge = Buffer.from(png.subarray(0, 33));
    huge.writeUInt32BE(20000, 16);
    huge.writeUInt32BE(20000, 20);
    await writeFile(path.join(bad, 'huge.png'), huge);
    const r = await cli(['detect', bad, path.join(dir, 'nope.png'), '--model', model]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/good\.png: (no face found|\w+ \d+% at)/);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(5);
    expect(r.stderr).toMatch(/nope\.png: not found/);
    expect(r.stderr).toMatch(/text\.png: (not a supported image|corrupt or truncated image)/);
    expect(r.stderr).toMatch(/empty\.jpg: empty file/);
    expect(r.stderr).toMatch(/truncated\.png: corrupt or truncated image/);
    expect(r.stderr).toMatch(/huge\.png: image is 20000x20000, larger than the 50 megapixel limit/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('tracks faces through a video: JSON lines per frame, stable track ids, an annotated MP4', async () => {
    const clip = path.join(dir, 'clip.mp4');
    const r = await cli(['detect', clip, '--model', model, '--json', '--annotate', path.join(dir, 'vid')]);
    expect(r.code, r.stderr).toBe(0);
    const frames = r.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(frames.map((f) => f.frame)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(frames[10].time).toBeCloseTo(1, 5);
    const tracks = frames.flatMap((f) => f.faces.map((x: { track: number }) => x.track));
    expect(tracks.length).toBeGreaterThanOrEqual(15);
    expect(new Set(tracks).size).toBe(1);
    // The face moves right by 4 px a frame.
    const xs = frames.filter((f) => f.faces.length).map((f) => f.faces[0].box.x);
    expect(xs[xs.length - 1] - xs[0]).toBeGreaterThan(40);
    expect(await readdir(path.join(dir, 'vid'))).toEqual(['clip.mp4']);
    const sampled = await cli(['detect', clip, '--model', model, '--csv', '--fps', '5', '--skip-frames', '1']);
    expect(sampled.code, sampled.stderr).toBe(0);
    expect(
      new Set(
        sampled.stdout
          .trim()
          .split('\n')
          .slice(1)
          .map((row) => row.split(',')[1]),
      ).size,
    ).toBeLessThanOrEqual(10);
  });

  it('reads a live stream frame by frame until Ctrl-C, then keeps the annotated MP4 and exits 0', async () => {
    // A never-ending MPEG-TS stream of the clip, served over HTTP by ffmpeg itself (one client).
    const port = 20000 + (process.pid % 20000);
    const url = `http://127.0.0.1:${port}/live.ts`;
    const server = spawn('ffmpeg', [
      '-v',
      'error',
      '-re',
      '-stream_loop',
      '-1',
      '-i',
      path.join(dir, 'clip.mp4'),
      '-c:v',
      'libx264',
      '-f',
      'mpegts',
      '-listen',
      '1',
      url,
    ]);
    try {
      await new Promise((r) => setTimeout(r, 500));
      const child = spawn(process.execPath, [BIN, 'detect', url, '--model', model, '--json', '--annotate', path.join(dir, 'live')], {
        cwd: REPO_ROOT,
      });
      let stdout = '';
      let stderr = '';
      let stopped = false;
      child.stderr.on('data', (d) => (stderr += d));
      child.stdout.on('data', (d) => {
        stdout += d;
        // Stop it as a user would, once a few frames are out: each line came as its frame did.
        if (!stopped && stdout.split('\n').length > 6) {
          stopped = true;
          child.kill('SIGINT');
        }
      });
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      expect(stopped, stderr).toBe(true);
      expect(code, stderr).toBe(0);
      const frames = stdout
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { frame: number; file: string });
      expect(frames.length).toBeGreaterThanOrEqual(5);
      expect(frames.map((f) => f.frame)).toEqual(frames.map((_, i) => i));
      expect(frames[0].file).toBe(url);
      expect(await readdir(path.join(dir, 'live'))).toEqual(['live.mp4']);
    } finally {
      server.kill('SIGKILL');
    }
  });

  it('says in one line when a stream cannot be opened', async () => {
    const r = await cli(['detect', 'http://127.0.0.1:9/none.ts', '--model', model, '--json']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/http:\/\/127\.0\.0\.1:9\/none\.ts: cannot be read as a video source \(.*refused.*\)/i);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('keeps the frames of a video that is cut short, and says so in one line', async () => {
    const { readFile } = await import('node:fs/promises');
    const bytes = await readFile(path.join(dir, 'clip.mp4'));
    const cut = path.join(dir, 'cut.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    const r = await cli(['detect', cut, '--model', model, '--json']);
    expect(r.code).toBe(1);
    const warnings = r.stderr.split('\n').filter((l) => l.startsWith('warning: '));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/cut\.mp4: (video ended early after \d+ frames|not a readable video|no frames could be decoded)/);
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });

  it('a faststart MP4 cut in half is not a success, though ffmpeg exits 0 on it', async () => {
    // The index at the front (faststart) lets ffmpeg decode the first half and exit 0 with errors.
    const { execFileSync } = await import('node:child_process');
    const { readFile } = await import('node:fs/promises');
    const whole = path.join(dir, 'faststart.mp4');
    execFileSync('ffmpeg', [
      '-v',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=10',
      '-t',
      '4',
      '-pix_fmt',
      'yuv420p',
      '-movflags',
      '+faststart',
      whole,
    ]);
    const bytes = await readFile(whole);
    const cut = path.join(dir, 'faststart-cut.mp4');
    await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const r = await cli(['detect', cut, '--model', model, '--json']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toMatch(
      /faststart-cut\.mp4: video ended early after (\d+) frames \(.*; \1 of about 40 frames\); results up to there were kept/,
    );
    // The frames it had were still reported.
    expect(r.stdout.trim().split('\n').length).toBeGreaterThan(3);
    const full = await cli(['detect', whole, '--model', model, '--json']);
    expect(full.code, full.stderr).toBe(0);
  });
});
