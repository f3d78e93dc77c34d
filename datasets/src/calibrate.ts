/**
 * Measure where MediaPipe's short-range box falls within an upright FER2013 tile (FACE_IN_TILE):
 * 200 PublicTest faces pasted alone at 220 px on textured backgrounds. Also prints how well that
 * one box fits each face (IoU with the detection), which caps any "found at IoU >= 0.5" figure.
 *
 *   npx tsx datasets/src/calibrate.ts [fer2013.csv.gz]
 */
import { initNodeBackend } from '@emodetect/backend/node';
import { createNodeFaceDetector, iou } from '@emodetect/face-detect/node';
import { readFer2013, splitIndices } from '@emodetect/preprocess/node';
import { composeScene, DEFAULT_SCENE } from './index.ts';
await initNodeBackend({ backend: 'wasm' });
const ds = await readFer2013(process.argv[2] ?? '../shared/data/fer2013/fer2013.csv.gz');
const pool = splitIndices(ds, 'PublicTest');
const det = await createNodeFaceDetector({ model: 'short', maxFaces: 1 });
const rel: number[][] = [];
const ious: number[] = [];
for (let s = 0; s < 200; s++) {
  const scene = composeScene(ds, [pool[s]], 5000 + s, {
    ...DEFAULT_SCENE,
    minSize: 220,
    maxSize: 220,
    minFaces: 1,
    maxFaces: 1,
    occlusion: 0,
    rotation: 0,
  });
  const [d] = await det.estimateFaces(scene.image);
  if (!d) continue;
  const g = scene.faces[0].box;
  ious.push(iou(d.box, scene.faces[0].faceBox));
  rel.push([(d.box.x - g.x) / g.width, (d.box.y - g.y) / g.height, d.box.width / g.width, d.box.height / g.height]);
}
const med = (i: number) => {
  const v = rel.map((r) => r[i]).sort((a, b) => a - b);
  return v[Math.floor(v.length / 2)].toFixed(3);
};
console.log(`found ${rel.length}/200; median relative box x ${med(0)} y ${med(1)} w ${med(2)} h ${med(3)}`);
// How well one fixed box fits every face: the ceiling of "found at IoU >= 0.5" in scene benchmarks.
const sorted = [...ious].sort((a, b) => a - b);
const share = sorted.filter((x) => x >= 0.5).length / sorted.length;
console.log(
  `IoU of the detection with the FACE_IN_TILE box: p5 ${sorted[Math.floor(0.05 * sorted.length)].toFixed(2)}, median ${sorted[Math.floor(sorted.length / 2)].toFixed(2)}; at least 0.5 for ${(100 * share).toFixed(1)}% of the found faces`,
);
