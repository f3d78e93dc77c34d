/**
 * `nx run bench:latency`: how fast the toolkit runs, per backend, on this machine.
 *
 *   node --import tsx apps/bench/src/latency.ts [--backends wasm,cpu] [--faces 1,3,8] [--frames 40]
 *        [--leak-frames 1000] [--model <dir>] [--detector short|full|both] [--tiles N] [--min-score X]
 *        [--data fer2013.csv.gz]
 *        [--quick] [--out runs/bench-latency.json]
 *
 * For each backend:
 * - the classifier alone: ms per face with one face per call (p50, p95, max) and in a batch of 64;
 * - whole 640x480 frames composed from FER2013 PrivateTest faces (textured backgrounds), with 1,
 *   3 and 8 faces: detect + crop + classify per frame (p50, p95, max), faces found (IoU ≥ 0.5
 *   with the ground truth), emotion accuracy on found faces, and the classifier's accuracy on the
 *   same faces' original 48x48 FER crops;
 * - memory: tfjs tensors and bytes and the process's RSS before and after `--leak-frames` frames
 *   through the realtime frame loop (tracking on). A leak shows as growth.
 * Warm-up runs are excluded everywhere. --quick: few frames, for the CI smoke test.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE, type SceneOptions } from '@emodetect/datasets';
import { createNodeFaceDetector, iou, tileDetector } from '@emodetect/face-detect/node';
import { argmaxRows, bundledModelDir, loadModelFolder, predictProbabilities } from '@emodetect/model/node';
import { readFer2013, splitIndices, toUnitFloat, type ImageDataset } from '@emodetect/preprocess/node';
import { createEmotionPipeline, createFrameLoop, createMeter } from '@emodetect/realtime';
import { timing, type Timing } from './stats.ts';

interface BackendResult {
  backend: string;
  classifier: { batch1: Timing; batchedPerFace: number; batchSize: number };
  frames: {
    faces: number;
    timing: Timing;
    found: number;
    total: number;
    /** Detections overlapping no true face (IoU < 0.3 with all of them). */
    falsePositives: number;
    emotionAccuracy: number | null;
    cropAccuracy: number | null;
  }[];
  memory: {
    frames: number;
    before: { tensors: number; bytes: number; rssMB: number };
    after: { tensors: number; bytes: number; rssMB: number };
    msPerFrame: number;
  };
}

/** Face sizes that fit n faces on a 640x480 frame. */
const sceneFor = (n: number): SceneOptions => {
  const size = n <= 1 ? [180, 260] : n <= 3 ? [130, 180] : [90, 120];
  return { ...DEFAULT_SCENE, minFaces: n, maxFaces: n, minSize: size[0], maxSize: size[1], occlusion: 0 };
};

interface Options {
  faces: number[];
  frames: number;
  leakFrames: number;
  classifierReps: number;
  model: string;
  detector: 'short' | 'full' | 'both';
  /** Tiles per side for tileDetector (0 = whole image only). */
  tiles: number;
  minScore: number | undefined;
}

async function benchBackend(backend: BackendName, ds: ImageDataset, pool: number[], o: Options): Promise<BackendResult> {
  const info = await initNodeBackend({ backend });
  const model = await loadModelFolder(o.model);
  const base = await createNodeFaceDetector({ model: o.detector, maxFaces: 10, minScore: o.minScore });
  const detector = o.tiles > 0 ? tileDetector(base, { grid: o.tiles }) : base;
  const pipeline = createEmotionPipeline(detector, model);
  const per = ds.width * ds.height;
  const log = (s: string) => process.stderr.write(`[${info.name}] ${s}\n`);

  // The classifier alone.
  log('classifier alone…');
  const faces = new Float32Array(64 * per);
  pool.slice(0, 64).forEach((r, i) => toUnitFloat(ds.pixels.subarray(r * per, (r + 1) * per), faces, i * per));
  for (let i = 0; i < 5; i++) await predictProbabilities(model, faces.subarray(0, per), 1);
  const single: number[] = [];
  for (let i = 0; i < o.classifierReps; i++) {
    const t0 = performance.now();
    await predictProbabilities(model, faces.subarray((i % 64) * per, ((i % 64) + 1) * per), 1);
    single.push(performance.now() - t0);
  }
  await predictProbabilities(model, faces, 64);
  const tb = performance.now();
  for (let i = 0; i < 3; i++) await predictProbabilities(model, faces, 64);
  const batchedPerFace = (performance.now() - tb) / (3 * 64);

  // Whole frames.
  const frames: BackendResult['frames'] = [];
  for (const n of o.faces) {
    log(`frames with ${n} face${n > 1 ? 's' : ''}…`);
    const ms: number[] = [];
    let total = 0;
    let found = 0;
    let correct = 0;
    let falsePositives = 0;
    const tiles: number[] = [];
    await pipeline.analyze(composeScene(ds, pool, 1, sceneFor(n)).image);
    for (let f = 0; f < o.frames; f++) {
      const scene = composeScene(ds, pool, 10_000 + 100 * n + f, sceneFor(n));
      const t0 = performance.now();
      const results = await pipeline.analyze(scene.image);
      ms.push(performance.now() - t0);
      falsePositives += results.filter((r) => scene.faces.every((t) => iou(r.box, t.faceBox) < 0.3)).length;
      for (const truth of scene.faces) {
        total++;
        const match = results.find((r) => iou(r.box, truth.faceBox) >= 0.5);
        if (!match) continue;
        found++;
        tiles.push(truth.index);
        if (match.emotion === truth.emotion) correct++;
      }
    }
    const crops = new Float32Array(tiles.length * per);
    tiles.forEach((t, i) => toUnitFloat(ds.pixels.subarray(t * per, (t + 1) * per), crops, i * per));
    const predicted = tiles.length ? argmaxRows(await predictProbabilities(model, crops, tiles.length), model.metadata.labels.length) : [];
    const cropCorrect = tiles.filter((t, i) => predicted[i] === ds.labels[t]).length;
    frames.push({
      faces: n,
      timing: timing(ms),
      found,
      total,
      falsePositives,
      emotionAccuracy: found ? correct / found : null,
      cropAccuracy: tiles.length ? cropCorrect / tiles.length : null,
    });
  }

  // Memory over a long run of the realtime loop (one scene per 25 frames, like a slow-moving video).
  log(`memory over ${o.leakFrames} frames…`);
  const loop = createFrameLoop(pipeline);
  const scenes = Array.from({ length: 8 }, (_, i) => composeScene(ds, pool, 500 + i, sceneFor(2)).image);
  for (let i = 0; i < 10; i++) await loop.process(scenes[0]);
  const snap = () => ({ tensors: tf.memory().numTensors, bytes: tf.memory().numBytes, rssMB: process.memoryUsage().rss / 2 ** 20 });
  const before = snap();
  const meter = createMeter(o.leakFrames);
  for (let i = 0; i < o.leakFrames; i++) {
    const t0 = performance.now();
    await loop.process(scenes[Math.floor(i / 25) % scenes.length]);
    meter.record(performance.now() - t0);
  }
  const after = snap();
  detector.dispose();
  model.model.dispose();
  return {
    backend: info.name,
    classifier: { batch1: timing(single), batchedPerFace, batchSize: 64 },
    frames,
    memory: { frames: o.leakFrames, before, after, msPerFrame: meter.stats().p50 },
  };
}

function markdown(results: BackendResult[], o: Options, command: string): string {
  const f = (x: number) => x.toFixed(1);
  const pc = (x: number | null) => (x === null ? '–' : `${(100 * x).toFixed(1)}%`);
  const lines = [`Command: \`${command}\` (${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, one thread)`, ''];
  lines.push(
    'Classifier alone (ms per face):',
    '',
    '| backend | 1 per call p50 | p95 | max | in a batch of 64 |',
    '| --- | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    const b = r.classifier.batch1;
    lines.push(
      `| ${r.backend} | ${b.p50.toFixed(2)} | ${b.p95.toFixed(2)} | ${b.max.toFixed(2)} | ${r.classifier.batchedPerFace.toFixed(2)} |`,
    );
  }
  lines.push(
    '',
    `Whole 640x480 frames (detector ${o.detector}${o.tiles ? `, tiles ${o.tiles}x${o.tiles} + whole frame` : ''}${o.minScore !== undefined ? `, min score ${o.minScore}` : ''}; ${o.frames} frames each; ms per frame):`,
    '',
    '| backend | faces per frame | p50 | p95 | max | faces found (IoU ≥ 0.5) | false detections | emotion accuracy, found faces | classifier on their FER crops |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results)
    for (const fr of r.frames)
      lines.push(
        `| ${r.backend} | ${fr.faces} | ${f(fr.timing.p50)} | ${f(fr.timing.p95)} | ${f(fr.timing.max)} | ${fr.found}/${fr.total} (${pc(fr.total ? fr.found / fr.total : null)}) | ${fr.falsePositives} | ${pc(fr.emotionAccuracy)} | ${pc(fr.cropAccuracy)} |`,
      );
  lines.push(
    '',
    'Memory through the realtime frame loop (2 faces per frame, tracking on):',
    '',
    '| backend | frames | tensors before → after | tensor MB before → after | RSS MB before → after | ms per frame (p50) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results) {
    const m = r.memory;
    lines.push(
      `| ${r.backend} | ${m.frames} | ${m.before.tensors} → ${m.after.tensors} | ${f(m.before.bytes / 2 ** 20)} → ${f(m.after.bytes / 2 ** 20)} | ${f(m.before.rssMB)} → ${f(m.after.rssMB)} | ${f(m.msPerFrame)} |`,
    );
  }
  return lines.join('\n');
}

try {
  const { values: v } = parseArgs({
    options: {
      backends: { type: 'string', default: 'wasm' },
      faces: { type: 'string', default: '1,3,8' },
      frames: { type: 'string' },
      'leak-frames': { type: 'string' },
      model: { type: 'string' },
      detector: { type: 'string', default: 'short' },
      tiles: { type: 'string', default: '0' },
      'min-score': { type: 'string' },
      data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join('runs', 'bench-latency.json') },
    },
  });
  const o: Options = {
    faces: v.faces!.split(',').map(Number),
    frames: Number(v.frames ?? (v.quick ? 5 : 40)),
    leakFrames: Number(v['leak-frames'] ?? (v.quick ? 50 : 1000)),
    classifierReps: v.quick ? 20 : 200,
    model: v.model ?? bundledModelDir(),
    detector: v.detector as Options['detector'],
    tiles: Number(v.tiles),
    minScore: v['min-score'] === undefined ? undefined : Number(v['min-score']),
  };
  if (!Number.isInteger(o.tiles) || o.tiles < 0)
    throw new Error(`bench:latency: --tiles must be 0 (off) or a positive integer, not ${v.tiles}`);
  if (o.minScore !== undefined && !(o.minScore >= 0 && o.minScore <= 1))
    throw new Error(`bench:latency: --min-score must be in 0..1, not ${v['min-score']}`);
  if (!['short', 'full', 'both'].includes(o.detector))
    throw new Error(`bench:latency: --detector must be short, full or both, not ${o.detector}`);
  if (o.faces.some((n) => !Number.isInteger(n) || n < 1))
    throw new Error(`bench:latency: --faces must list positive integers, not ${v.faces}`);
  const ds = await readFer2013(v.data!).catch((e: unknown) => {
    throw new Error(`bench:latency: ${v.data}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const pool = splitIndices(ds, 'PrivateTest');
  const results: BackendResult[] = [];
  for (const b of v.backends!.split(',')) results.push(await benchBackend(b as BackendName, ds, pool, o));
  const command = `npx nx run bench:latency${process.argv.slice(2).length ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  console.log(markdown(results, o, command));
  await fs.mkdir(path.dirname(v.out!), { recursive: true });
  const machine = `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'CPU'}, Node ${process.version}`;
  await fs.writeFile(v.out!, JSON.stringify({ command, date: new Date().toISOString(), machine, options: o, results }, null, 2));
  console.log(`\nJSON: ${v.out}`);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
