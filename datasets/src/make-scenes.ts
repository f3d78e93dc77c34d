/**
 * Write composed test scenes as PNG files plus their ground truth (labels.json). Each face's
 * `faceBox` comes from its face-mesh landmarks (`faceBoxSource: "landmarks"`), or from the one
 * fixed box where the mesh model sees no face or with --fixed-boxes.
 *
 *   npx tsx datasets/src/make-scenes.ts --out <dir> [--data fer2013.csv.gz] [--split PrivateTest]
 *        [--count 20] [--seed 1] [--min-faces 1] [--max-faces 4] [--min-size 110] [--max-size 200]
 *        [--fixed-boxes]
 *
 * Nothing generated is committed: scenes are made on demand from the FER2013 file.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Jimp } from 'jimp';
import { initNodeBackend } from '@emodetect/backend/node';
import { readFer2013, splitIndices } from '@emodetect/preprocess/node';
import { composeScene, createTileAnnotator, DEFAULT_SCENE, type TileAnnotator } from './node.ts';

const { values: v } = parseArgs({
  options: {
    out: { type: 'string' },
    data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
    split: { type: 'string', default: 'PrivateTest' },
    count: { type: 'string', default: '20' },
    seed: { type: 'string', default: '1' },
    'min-faces': { type: 'string' },
    'max-faces': { type: 'string' },
    'min-size': { type: 'string' },
    'max-size': { type: 'string' },
    'fixed-boxes': { type: 'boolean', default: false },
  },
});
if (!v.out) {
  console.error('make-scenes: --out <dir> is required');
  process.exit(2);
}
const ds = await readFer2013(v.data!);
const pool = splitIndices(ds, v.split!);
const num = (s: string | undefined, d: number) => (s === undefined ? d : Number(s));
const opts = {
  ...DEFAULT_SCENE,
  minFaces: num(v['min-faces'], DEFAULT_SCENE.minFaces),
  maxFaces: num(v['max-faces'], DEFAULT_SCENE.maxFaces),
  minSize: num(v['min-size'], DEFAULT_SCENE.minSize),
  maxSize: num(v['max-size'], DEFAULT_SCENE.maxSize),
};
await mkdir(v.out, { recursive: true });
let annotator: TileAnnotator | undefined;
if (!v['fixed-boxes']) {
  await initNodeBackend({ backend: 'wasm' });
  annotator = await createTileAnnotator();
}
const labels: Record<string, unknown> = {};
for (let i = 0; i < Number(v.count); i++) {
  const composed = composeScene(ds, pool, Number(v.seed) + i, opts);
  const scene = annotator ? annotator.annotate(ds, composed) : composed;
  const img = new Jimp({ width: scene.image.width, height: scene.image.height });
  img.bitmap.data.set(scene.image.data);
  const name = `scene-${String(i).padStart(4, '0')}.png`;
  await img.write(path.join(v.out, name) as `${string}.png`);
  labels[name] = scene.faces;
}
await writeFile(path.join(v.out, 'labels.json'), JSON.stringify(labels, null, 2) + '\n');
console.log(`wrote ${v.count} scenes and labels.json to ${v.out}`);
