/**
 * `nx run bench:latency`: how fast the toolkit runs, per backend, on this machine.
 *
 *   node --import tsx apps/bench/src/latency.ts [--backends wasm,cpu,native] [--faces 1,3,8] [--frames 40]
 *        [--leak-frames 1000] [--model <dir>] [--detector short|full|both] [--tiles N] [--tile-fraction F]
 *        [--min-score X] [--refine] [--unfolded]
 *        [--data fer2013.csv.gz]
 *        [--quick] [--out runs/bench-latency.json]
 *
 * For each backend (`native`: the classifier natively, the face detector on wasm):
 * - the classifier alone: ms per face with one face per call (p50, p95, max) and in a batch of 64;
 * - whole 640x480 frames composed from FER2013 PrivateTest faces (textured backgrounds), with 1,
 *   3 and 8 upright-ish faces, and `mix` (the generator's defaults: 1-4 faces, rotated up to 12°,
 *   15% partly occluded): detect + crop + classify per frame (p50, p95, max), faces found (IoU ≥
 *   0.5 with each face's landmark box from @emodetect/datasets/node, and with the one fixed box),
 *   emotion accuracy on found faces, and the classifier's accuracy on the same faces' original
 *   48x48 FER crops;
 * - memory: tfjs tensors and bytes and the process's RSS before and after `--leak-frames` frames
 *   through the realtime frame loop (tracking on). A leak shows as growth.
 * On tfjs backends the classifier runs with batch-norm folded into its convolutions, as the CLI and
 * the demo run it (`--unfolded`: layer by layer, as `model.predict`).
 * Warm-up runs are excluded everywhere. --quick: few frames, for the CI smoke test.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import {
  composeScene,
  createTileAnnotator,
  DEFAULT_SCENE,
  FACE_IN_TILE,
  tileBoxInScene,
  type SceneOptions,
} from '@emodetect/datasets/node';
import { createNodeFaceDetector, iou, tileDetector, type FaceBox } from '@emodetect/face-detect/node';
import { argmaxRows, bundledModelDir, loadModelFolder, predictProbabilities, useFoldedInference } from '@emodetect/model/node';
import { useNativeInference } from '@emodetect/native';
import { readFer2013, splitIndices, toUnitFloat, type ImageDataset } from '@emodetect/preprocess/node';
import { createEmotionPipeline, createFrameLoop, createMeter } from '@emodetect/realtime';
import { benchCommand, machineDescription, timing, type Timing } from './stats.ts';

interface BackendResult {
  backend: string;
  classifier: { batch1: Timing; batchedPerFace: number; batchSize: number };
  frames: {
    /** Faces per frame, or `mix` for the scene generator's defaults. */
    faces: number | 'mix';
    timing: Timing;
    /** Faces with a landmark box (the face-mesh model took the tile for a face). */
    landmarkTruths: number;
    /** Of those, found at IoU ≥ 0.5 with their landmark box. */
    found: number;
    /** All faces (`total`), found at IoU ≥ 0.5 with the one fixed box (FACE_IN_TILE). */
    foundFixed: number;
    /** All faces (`total`), found at IoU ≥ 0.5 with their ground-truth box: the landmark box, else the fixed one. */
    matched: number;
    total: number;
    /** Detections on the background: their centre lies in no pasted face tile. */
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

/** Whether the centre of box `a` lies inside box `b` (a detection on a pasted face tile). */
function centreInside(a: FaceBox, b: FaceBox): boolean {
  const cx = a.x + a.width / 2 - b.x;
  const cy = a.y + a.height / 2 - b.y;
  return cx >= 0 && cy >= 0 && cx <= b.width && cy <= b.height;
}

/** Face sizes that fit n faces on a 640x480 frame; `mix` is the scene generator's defaults. */
const sceneFor = (n: number | 'mix'): SceneOptions => {
  if (n === 'mix') return DEFAULT_SCENE;
  const size = n <= 1 ? [180, 260] : n <= 3 ? [130, 180] : [90, 120];
  return { ...DEFAULT_SCENE, minFaces: n, maxFaces: n, minSize: size[0], maxSize: size[1], occlusion: 0 };
};

interface Options {
  faces: (number | 'mix')[];
  frames: number;
  leakFrames: number;
  classifierReps: number;
  model: string;
  detector: 'short' | 'full' | 'both';
  /** Tiles per side for tileDetector (0 = whole image only). */
  tiles: number;
  tileFraction: number | undefined;
  /** A second look at each tile proposal (tileDetector's `refine`). */
  refine: boolean;
  minScore: number | undefined;
  /** Classify with batch-norm folded into the convolutions (tfjs backends; `--unfolded` turns it off). */
  fold: boolean;
}

async function benchBackend(backend: BackendName | 'native', ds: ImageDataset, pool: number[], o: Options): Promise<BackendResult> {
  // `native`: the classifier in C++ on oneDNN (@emodetect/native), the face detector on wasm.
  const info = await initNodeBackend({ backend: backend === 'native' ? 'wasm' : backend });
  // Ground truth per face from face-mesh landmarks (not timed).
  const annotator = await createTileAnnotator();
  const model = await loadModelFolder(o.model);
  const native = backend === 'native' ? useNativeInference(model, { batchSize: 64 }) : null;
  if (native) info.name = `${info.name} + native classifier`;
  else if (o.fold) useFoldedInference(model);
  const base = await createNodeFaceDetector({ model: o.detector, maxFaces: 10, minScore: o.minScore });
  const detector = o.tiles > 0 ? tileDetector(base, { grid: o.tiles, tileFraction: o.tileFraction, refine: o.refine }) : base;
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
    log(n === 'mix' ? 'frames of the default scene mix…' : `frames with ${n} face${n === 1 ? '' : 's'}…`);
    const ms: number[] = [];
    let total = 0;
    let found = 0;
    let matched = 0;
    let foundFixed = 0;
    let landmarkTruths = 0;
    let correct = 0;
    let falsePositives = 0;
    const tiles: number[] = [];
    await pipeline.detect(composeScene(ds, pool, 1, sceneFor(n)).image);
    for (let f = 0; f < o.frames; f++) {
      const composed = composeScene(ds, pool, (n === 'mix' ? 20_000 : 10_000 + 100 * n) + f, sceneFor(n));
      const t0 = performance.now();
      const results = await pipeline.detect(composed.image);
      ms.push(performance.now() - t0);
      const scene = annotator.annotate(ds, composed);
      falsePositives += results.filter((r) => !scene.faces.some((t) => centreInside(r.box, t.box))).length;
      for (const truth of scene.faces) {
        total++;
        const fixedBox = tileBoxInScene(truth, FACE_IN_TILE);
        if (results.some((r) => iou(r.box, fixedBox) >= 0.5)) foundFixed++;
        const match = results.find((r) => iou(r.box, truth.faceBox) >= 0.5);
        if (truth.faceBoxSource === 'landmarks') {
          landmarkTruths++;
          if (match) found++;
        }
        if (!match) continue;
        matched++;
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
      foundFixed,
      landmarkTruths,
      total,
      falsePositives,
      matched,
      emotionAccuracy: matched ? correct / matched : null,
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
  annotator.dispose();
  native?.dispose();
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
  const lines = [`Command: \`${command}\` (${machineDescription()}, one thread)`, ''];
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
    `Whole 640x480 frames (detector ${o.detector}${o.tiles ? `, tiles ${o.tiles}x${o.tiles}${o.tileFraction ? ` of ${o.tileFraction}` : ''} + whole frame${o.refine ? ', refined' : ''}` : ''}${o.minScore !== undefined ? `, min score ${o.minScore}` : ''}; ${o.frames} frames each; ms per frame):`,
    '',
    '| backend | faces per frame | p50 | p95 | max | faces found | of them, faces with a landmark box | found, fixed box for all | false detections | emotion accuracy, found faces | classifier on their FER crops |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  );
  for (const r of results)
    for (const fr of r.frames)
      lines.push(
        `| ${r.backend} | ${fr.faces} | ${f(fr.timing.p50)} | ${f(fr.timing.p95)} | ${f(fr.timing.max)} | ${fr.matched}/${fr.total} (${pc(fr.total ? fr.matched / fr.total : null)}) | ${fr.found}/${fr.landmarkTruths} (${pc(fr.landmarkTruths ? fr.found / fr.landmarkTruths : null)}) | ${fr.foundFixed}/${fr.total} (${pc(fr.total ? fr.foundFixed / fr.total : null)}) | ${fr.falsePositives} | ${pc(fr.emotionAccuracy)} | ${pc(fr.cropAccuracy)} |`,
      );
  lines.push(
    '',
    "Found: a detection at IoU ≥ 0.5 with the face's ground-truth box, which comes from its face-mesh landmarks (the fixed FACE_IN_TILE box where the mesh model saw no face: profiles, hands, drawings). False detections: centre outside every pasted face.",
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
      'tile-fraction': { type: 'string' },
      refine: { type: 'boolean', default: false },
      'min-score': { type: 'string' },
      unfolded: { type: 'boolean', default: false },
      data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join('runs', 'bench-latency.json') },
    },
  });
  const o: Options = {
    faces: v.faces!.split(',').map((s) => (s === 'mix' ? 'mix' : Number(s))),
    frames: Number(v.frames ?? (v.quick ? 5 : 40)),
    leakFrames: Number(v['leak-frames'] ?? (v.quick ? 50 : 1000)),
    classifierReps: v.quick ? 20 : 200,
    model: v.model ?? bundledModelDir(),
    detector: v.detector as Options['detector'],
    tiles: Number(v.tiles),
    tileFraction: v['tile-fraction'] === undefined ? undefined : Number(v['tile-fraction']),
    refine: v.refine!,
    minScore: v['min-score'] === undefined ? undefined : Number(v['min-score']),
    fold: !v.unfolded,
  };
  if (!Number.isInteger(o.tiles) || o.tiles < 0)
    throw new Error(`bench:latency: --tiles must be 0 (off) or a positive integer, not ${v.tiles}`);
  if (o.refine && o.tiles === 0) throw new Error('bench:latency: --refine needs --tiles 1 or more');
  if (o.minScore !== undefined && !(o.minScore >= 0 && o.minScore <= 1))
    throw new Error(`bench:latency: --min-score must be in 0..1, not ${v['min-score']}`);
  if (!['short', 'full', 'both'].includes(o.detector))
    throw new Error(`bench:latency: --detector must be short, full or both, not ${o.detector}`);
  if (o.faces.some((n) => n !== 'mix' && (!Number.isInteger(n) || n < 1)))
    throw new Error(`bench:latency: --faces must list positive integers or mix, not ${v.faces}`);
  if (o.tileFraction !== undefined && !(o.tileFraction > 0 && o.tileFraction <= 1))
    throw new Error(`bench:latency: --tile-fraction must be in (0, 1], not ${v['tile-fraction']}`);
  const ds = await readFer2013(v.data!).catch((e: unknown) => {
    throw new Error(`bench:latency: ${v.data}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const pool = splitIndices(ds, 'PrivateTest');
  const results: BackendResult[] = [];
  for (const b of v.backends!.split(',')) results.push(await benchBackend(b as BackendName | 'native', ds, pool, o));
  const command = benchCommand('latency');
  console.log(markdown(results, o, command));
  await fs.mkdir(path.dirname(v.out!), { recursive: true });
  await fs.writeFile(
    v.out!,
    JSON.stringify({ command, date: new Date().toISOString(), machine: machineDescription(), options: o, results }, null, 2),
  );
  console.log(`\nJSON: ${v.out}`);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
