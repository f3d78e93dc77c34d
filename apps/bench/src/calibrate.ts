/**
 * Calibrate the scenes' ground-truth boxes to MediaPipe's short-range box convention, on
 * PublicTest faces (never on the PrivateTest faces the benchmarks use):
 * 300 faces pasted alone, upright, at 220 px on textured backgrounds. On the first half it fits
 *   - FACE_IN_TILE: the median detector box relative to the tile (one box for every face), and
 *   - MESH_TO_DETECTOR: the median detector box relative to each face's landmark box;
 * on the second half it reports how well each kind of ground truth fits the detections (IoU),
 * which caps any "found at IoU >= 0.5" figure measured against it.
 *
 *   npx tsx apps/bench/src/calibrate.ts [fer2013.csv.gz]
 */
import { initNodeBackend } from '@emodetect/backend/node';
import { createNodeFaceDetector, iou, type FaceBox } from '@emodetect/face-detect/node';
import { readFer2013, splitIndices } from '@emodetect/preprocess/node';
import {
  composeScene,
  createTileAnnotator,
  FACE_IN_TILE,
  LONE_FACE_SCENE,
  MESH_TO_DETECTOR,
  tileBoxInScene,
  type TileBox,
} from '@emodetect/datasets/node';

await initNodeBackend({ backend: 'wasm' });
const ds = await readFer2013(process.argv[2] ?? '../shared/data/fer2013/fer2013.csv.gz');
const pool = splitIndices(ds, 'PublicTest');
const det = await createNodeFaceDetector({ model: 'short', maxFaces: 1 });
const annotator = await createTileAnnotator();

interface Sample {
  /** Detection relative to the tile (fractions). */
  d: TileBox;
  /** Landmark box (fractions of the tile) and the mesh model's face score. */
  l: TileBox;
  meshScore: number;
  index: number;
}
const samples: Sample[] = [];
const tried = 300;
for (let s = 0; s < tried; s++) {
  const scene = composeScene(ds, [pool[s]], 5000 + s, LONE_FACE_SCENE);
  const [d] = await det.estimateFaces(scene.image);
  if (!d) continue;
  const g = scene.faces[0].box;
  const rel = {
    x: (d.box.x - g.x) / g.width,
    y: (d.box.y - g.y) / g.height,
    width: d.box.width / g.width,
    height: d.box.height / g.height,
  };
  const { box, score } = annotator.landmarkBox(ds, pool[s]);
  samples.push({ d: rel, l: box, meshScore: score, index: pool[s] });
}
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)];
const fit = samples.slice(0, samples.length >> 1);
const check = samples.slice(samples.length >> 1);
const faces = fit.filter((s) => s.meshScore >= 0.5);
const fixed = {
  x: median(fit.map((s) => s.d.x)),
  y: median(fit.map((s) => s.d.y)),
  size: median(fit.map((s) => (s.d.width + s.d.height) / 2)),
};
const mesh = {
  cx: median(faces.map((s) => (s.d.x + s.d.width / 2 - (s.l.x + s.l.width / 2)) / s.l.width)),
  cy: median(faces.map((s) => (s.d.y + s.d.height / 2 - (s.l.y + s.l.height / 2)) / s.l.height)),
  width: median(faces.map((s) => s.d.width / s.l.width)),
  height: median(faces.map((s) => s.d.height / s.l.height)),
};
const f3 = (v: number) => v.toFixed(3);
const f4 = (v: number) => v.toFixed(4);
console.log(`detector found ${samples.length}/${tried} faces; fitting on ${fit.length}, checking on ${check.length}`);
console.log(`fitted FACE_IN_TILE = { x: ${f3(fixed.x)}, y: ${f3(fixed.y)}, width: ${f3(fixed.size)}, height: ${f3(fixed.size)} }`);
console.log(`fitted MESH_TO_DETECTOR = { cx: ${f4(mesh.cx)}, cy: ${f4(mesh.cy)}, width: ${f4(mesh.width)}, height: ${f4(mesh.height)} }`);

// The committed constants, on the held-out half.
const unit: FaceBox = { x: 0, y: 0, width: 1, height: 1 };
const report = (name: string, ious: number[]) => {
  const sorted = [...ious].sort((a, b) => a - b);
  const share = sorted.filter((x) => x >= 0.5).length / sorted.length;
  console.log(
    `${name}: IoU with the detection p5 ${sorted[Math.floor(0.05 * sorted.length)].toFixed(2)}, median ${median(sorted).toFixed(2)}; ` +
      `at least 0.5 for ${(100 * share).toFixed(1)}% of ${sorted.length} faces`,
  );
};
const tileOf = (t: TileBox) => tileBoxInScene({ box: unit, rotation: 0 }, t);
report(
  `committed FACE_IN_TILE ${JSON.stringify(FACE_IN_TILE)}`,
  check.map((s) => iou(s.d, tileOf(FACE_IN_TILE))),
);
report(
  `committed MESH_TO_DETECTOR ${JSON.stringify(MESH_TO_DETECTOR)} (fixed box where the mesh score < 0.5)`,
  check.map((s) => iou(s.d, tileOf(annotator.faceBox(ds, s.index) ?? FACE_IN_TILE))),
);
console.log(`mesh model took ${samples.filter((s) => s.meshScore >= 0.5).length}/${samples.length} tiles for faces upright`);
// The faces it took only when turned: how well their turned-back landmark boxes fit the detections.
const turned = samples.filter((s) => s.meshScore < 0.5 && annotator.faceBox(ds, s.index));
if (turned.length) {
  report(
    'faces annotated only when turned (all 273 found faces)',
    turned.map((s) => iou(s.d, tileOf(annotator.faceBox(ds, s.index)!))),
  );
  report(
    'the same faces against the fixed box',
    turned.map((s) => iou(s.d, tileOf(FACE_IN_TILE))),
  );
}
annotator.dispose();
det.dispose();
