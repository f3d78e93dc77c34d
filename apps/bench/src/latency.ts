/**
 * `nx run bench:latency`: detection + classification of whole frames, on scenes composed from
 * FER2013 PrivateTest faces (640x480, textured backgrounds), on this thread of this machine.
 *
 *   node --import tsx apps/bench/src/latency.ts [--faces 1,3,8] [--frames 40] [--model <dir>]
 *        [--detector short|full|both] [--data fer2013.csv.gz] [--backend wasm]
 *
 * For each number of faces per frame it reports per-frame latency (p50, p95), how many faces were
 * found (IoU >= 0.5 with the ground truth), the emotion accuracy on the found faces, and the
 * classifier's accuracy on the same faces' original 48x48 FER crops.
 */
import { parseArgs } from 'node:util';
import { initNodeBackend, type BackendName } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE, type SceneOptions } from '@emodetect/datasets';
import { createNodeFaceDetector, iou } from '@emodetect/face-detect/node';
import { argmaxRows, bundledModelDir, loadModelFolder, predictProbabilities } from '@emodetect/model/node';
import { readFer2013, splitIndices, toUnitFloat } from '@emodetect/preprocess/node';
import { createEmotionPipeline, createMeter } from '@emodetect/realtime';

const { values: v } = parseArgs({
  options: {
    faces: { type: 'string', default: '1,3,8' },
    frames: { type: 'string', default: '40' },
    model: { type: 'string' },
    detector: { type: 'string', default: 'short' },
    data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
    backend: { type: 'string', default: 'wasm' },
  },
});

const info = await initNodeBackend({ backend: v.backend as BackendName });
const model = await loadModelFolder(v.model ?? bundledModelDir());
const detector = await createNodeFaceDetector({ model: v.detector as 'short' | 'full' | 'both', maxFaces: 10 });
const pipeline = createEmotionPipeline(detector, model);
const ds = await readFer2013(v.data!);
const pool = splitIndices(ds, 'PrivateTest');

/** Face sizes that fit n faces on a 640x480 frame. */
const sceneFor = (n: number): SceneOptions => {
  const size = n <= 1 ? [180, 260] : n <= 3 ? [130, 180] : [90, 120];
  return { ...DEFAULT_SCENE, minFaces: n, maxFaces: n, minSize: size[0], maxSize: size[1], occlusion: 0 };
};

const rows: string[] = [];
for (const n of v.faces!.split(',').map(Number)) {
  const meter = createMeter(10_000);
  let total = 0;
  let found = 0;
  let correct = 0;
  const tiles: number[] = [];
  const warm = composeScene(ds, pool, 1, sceneFor(n));
  await pipeline.analyze(warm.image);
  for (let f = 0; f < Number(v.frames); f++) {
    const scene = composeScene(ds, pool, 10_000 + 100 * n + f, sceneFor(n));
    const t0 = performance.now();
    const results = await pipeline.analyze(scene.image);
    meter.record(performance.now() - t0);
    for (const truth of scene.faces) {
      total++;
      const match = results.find((r) => iou(r.box, truth.faceBox) >= 0.5);
      if (!match) continue;
      found++;
      tiles.push(truth.index);
      if (match.emotion === truth.emotion) correct++;
    }
  }
  // The classifier alone on the original crops of the faces that were found.
  const per = ds.width * ds.height;
  const crops = new Float32Array(tiles.length * per);
  tiles.forEach((t, i) => toUnitFloat(ds.pixels.subarray(t * per, (t + 1) * per), crops, i * per));
  const predicted = argmaxRows(await predictProbabilities(model, crops, tiles.length), model.metadata.labels.length);
  const cropCorrect = tiles.filter((t, i) => predicted[i] === ds.labels[t]).length;
  const s = meter.stats();
  const pct = (a: number, b: number) => (b ? `${((100 * a) / b).toFixed(1)}%` : '–');
  rows.push(
    `| ${n} | ${s.frames} | ${s.p50.toFixed(1)} | ${s.p95.toFixed(1)} | ${found}/${total} (${pct(found, total)}) | ${pct(correct, found)} | ${pct(cropCorrect, tiles.length)} |`,
  );
}
console.log(
  [
    `Frames of 640x480 on ${info.name} (this thread), detector ${v.detector}, model ${model.metadata.name} (${model.metadata.arch}):`,
    '',
    '| faces per frame | frames | p50 ms | p95 ms | faces found (IoU >= 0.5) | emotion accuracy, found faces | classifier on their 48x48 FER crops |',
    '| ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
  ].join('\n'),
);
detector.dispose();
