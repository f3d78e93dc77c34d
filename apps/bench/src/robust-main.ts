/**
 * `nx run bench:robust`: our models against face-api.js and Human on degraded faces (see
 * robust.ts), on a FER2013 PrivateTest sample and on the ExpW test faces found by the detector.
 * Prints Markdown; writes every figure as JSON.
 *
 *   node --import tsx apps/bench/src/robust-main.ts [--model <dir> ...] [--data fer2013.csv.gz]
 *        [--expw labels.csv] [--fer-faces 700] [--expw-faces N] [--no-anchors] [--only squeeze,blur]
 *        [--out runs/bench-robust.json]
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '@emodetect/backend/node';
import { bundledModelDir, loadModelFolder } from '@emodetect/model/node';
import { readFer2013, splitIndices, subset, DEFAULT_CROP } from '@emodetect/preprocess/node';
import { createPhotoDetector, readPhotoFaces } from '@emodetect/sources/node';
import { stratifiedSample } from '@emodetect/train';
import { faceApiClassifier, humanClassifier, ourClassifier, type FaceClassifier } from './anchors.ts';
import { benchRobust, PERTURBATIONS, robustMarkdown, robustSummary, type FaceSet, type RobustResult } from './robust.ts';
import { benchCommand, machineDescription } from './stats.ts';

try {
  const { values: v } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
      expw: { type: 'string', default: '../shared/data/expw/labels.csv' },
      'fer-faces': { type: 'string', default: '700' },
      'expw-faces': { type: 'string' },
      'no-anchors': { type: 'boolean', default: false },
      only: { type: 'string' },
      out: { type: 'string', default: path.join('runs', 'bench-robust.json') },
    },
  });
  const log = (line: string) => process.stderr.write(`${line}\n`);
  await initNodeBackend({ backend: 'wasm' });
  const models = v.model ?? [bundledModelDir()];

  // FER2013: a seeded, stratified PrivateTest sample.
  const fer = await readFer2013(v.data!).catch((e: unknown) => {
    throw new Error(`bench:robust: ${v.data}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const ferIdx = stratifiedSample(fer.labels, splitIndices(fer, 'PrivateTest'), Number(v['fer-faces']), 1);
  const ferSet = subset(fer, ferIdx);
  const sets: FaceSet[] = [{ name: 'FER2013 PrivateTest sample', pixels: ferSet.pixels, labels: ferSet.labels, n: ferSet.count }];

  // ExpW test: faces found by the detector as `detect` finds them, cut with the first model's crop.
  const first = await loadModelFolder(models[0]);
  const detector = await createPhotoDetector();
  const expw = await readPhotoFaces(v.expw!, {
    detector: detector.detector,
    detectorKey: detector.key,
    input: first.metadata.input,
    crop: { ...DEFAULT_CROP, ...first.metadata.crop },
    onProgress: (d, n) => d % 250 === 0 && log(`finding faces in ${v.expw}: ${d}/${n}`),
  }).catch((e: unknown) => {
    throw new Error(`bench:robust: ${v.expw}: ${e instanceof Error ? e.message : String(e)}`);
  });
  detector.dispose();
  first.model.dispose();
  let testIdx = splitIndices(expw.data, 'test');
  if (testIdx.length === 0) throw new Error(`bench:robust: ${v.expw}: no "test" split`);
  if (v['expw-faces']) testIdx = stratifiedSample(expw.data.labels, testIdx, Number(v['expw-faces']), 1);
  const expwSet = subset(expw.data, testIdx);
  sets.push({ name: 'ExpW test, through the detector', pixels: expwSet.pixels, labels: expwSet.labels, n: expwSet.count });
  log(`ExpW test: ${expwSet.count} faces found by the detector`);

  const classifiers: FaceClassifier[] = [];
  for (const m of models) classifiers.push(await ourClassifier(m, { native: true }));
  if (!v['no-anchors']) classifiers.push(await faceApiClassifier(), await humanClassifier());

  const results: RobustResult[] = [];
  // --only a,b: the clean row and the perturbations whose names contain one of these words.
  const only = v.only?.split(',').map((w) => w.trim().toLowerCase());
  const perturbations = only
    ? PERTURBATIONS.filter((p) => p.name === 'clean' || only.some((w) => p.name.toLowerCase().includes(w)))
    : PERTURBATIONS;
  for (const s of sets) results.push(await benchRobust(s, classifiers, perturbations, log));
  classifiers.forEach((c) => c.dispose());

  const command = benchCommand('robust');
  let md = `Reproduce: \`${command}\` (${machineDescription()}; our models natively where the library is built, the anchors on tfjs wasm: accuracy only, no timings). Every model gets the same 48x48 gray crops; rotations alternate their sign face by face.\n\n`;
  for (const r of results) {
    md += `${robustMarkdown(r)}\n`;
    const anchors = r.models.map((m, i) => (m.startsWith('emodetect') ? -1 : i)).filter((i) => i >= 0);
    const s = robustSummary(r, 0, anchors.length ? anchors : undefined);
    md += `${r.models[0]} is ahead of ${anchors.length ? 'both anchors' : 'every other model'} on ${s.ahead} of ${s.rows} rows; its drop from clean is no larger than every other's on ${s.dropNoWorse.length} of ${s.rows - 1} perturbations${s.dropWorse.length ? ` (larger on: ${s.dropWorse.join(', ')})` : ''}.\n\n`;
  }
  console.log(md);
  await fs.mkdir(path.dirname(v.out!), { recursive: true });
  await fs.writeFile(v.out!, JSON.stringify({ command, machine: machineDescription(), date: new Date().toISOString(), results }, null, 2));
  console.log(`JSON: ${v.out}`);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
