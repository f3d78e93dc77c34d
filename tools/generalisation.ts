/**
 * Beyond FER2013's own crops: each model sees FER2013 test faces (PrivateTest, or PublicTest with
 * --split) the way `emodetect detect` shows them to it, cut by the real face detector out of composed scenes (1-4 faces of 110-200 px on
 * textured backgrounds, rotated up to 12°, 15% partly hidden by a bar), and is scored per class,
 * against the same faces' original 48x48 crops, and for calibration (is "neutral" over-used?
 * does a 90% answer mean 90%?).
 *
 *   npx tsx tools/generalisation.ts <fer2013.csv.gz> --model <dir> [--model <dir> ...] [--scenes 300] [--seed 1]
 *     [--split PrivateTest|PublicTest] [--out file.json]
 *
 * PublicTest for choices between models, PrivateTest (the default) for the model card.
 *
 * Prints a Markdown section (for a model card) on stdout. The detector runs as detect runs it on
 * images: 3x3 tiles with a second look. A face counts as seen when a detection's centre lies in
 * its tile; faces the detector misses are counted apart, not scored.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '@emodetect/backend/node';
import { composeScene, DEFAULT_SCENE } from '@emodetect/datasets';
import { createNodeFaceDetector, tileDetector, type FaceBox } from '@emodetect/face-detect/node';
import { argmaxRows, loadModelFolder, predictProbabilities, useFoldedInference, type EmotionModel } from '@emodetect/model/node';
import { readFer2013, splitIndices, toUnitFloat } from '@emodetect/preprocess/node';
import { createEmotionPipeline } from '@emodetect/realtime';

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    model: { type: 'string', multiple: true },
    scenes: { type: 'string', default: '300' },
    seed: { type: 'string', default: '1' },
    split: { type: 'string', default: 'PrivateTest' },
    out: { type: 'string' },
  },
});
const dataFile = positionals[0];
if (!dataFile || !v.model?.length) {
  console.error(
    'usage: npx tsx tools/generalisation.ts <fer2013.csv.gz> --model <dir> [--model <dir> ...] [--scenes N] [--seed N] [--split PrivateTest|PublicTest] [--out file.json]',
  );
  process.exit(2);
}

await initNodeBackend({ backend: 'wasm' });
const ds = await readFer2013(dataFile);
const split = v.split!;
if (!['PublicTest', 'PrivateTest'].includes(split)) {
  console.error(`generalisation: --split ${split}: use PublicTest (for choices) or PrivateTest (the final report)`);
  process.exit(2);
}
const pool = splitIndices(ds, split);
const models: EmotionModel[] = [];
for (const dir of v.model) {
  const m = await loadModelFolder(dir);
  useFoldedInference(m);
  models.push(m);
}
const labels = models[0].metadata.labels;
const k = labels.length;
const neutral = labels.indexOf('neutral');
const detector = tileDetector(await createNodeFaceDetector(), { grid: 3, refine: true });
const pipelines = models.map((m) => createEmotionPipeline(detector, m, { maxFaces: 10 }));

const centreInside = (a: FaceBox, b: FaceBox) => {
  const cx = a.x + a.width / 2 - b.x;
  const cy = a.y + a.height / 2 - b.y;
  return cx >= 0 && cy >= 0 && cx <= b.width && cy <= b.height;
};

interface Seen {
  truth: number;
  index: number;
  /** Per model: probabilities through detect. */
  probs: Float32Array[];
}
const seen: Seen[] = [];
let total = 0;
const scenes = Number(v.scenes);
const t0 = performance.now();
for (let s = 0; s < scenes; s++) {
  const scene = composeScene(ds, pool, Number(v.seed) * 100_000 + s, DEFAULT_SCENE);
  const faces = await pipelines[0].findFaces(scene.image);
  const results = await Promise.all(pipelines.map((p) => p.classify(scene.image, faces)));
  for (const truth of scene.faces) {
    total++;
    const j = faces.findIndex((f) => centreInside(f.box, truth.box));
    if (j < 0) continue;
    seen.push({
      truth: truth.label,
      index: truth.index,
      probs: results.map((r) => Float32Array.from(labels, (l) => r[j].probabilities[l])),
    });
  }
  if ((s + 1) % 50 === 0)
    console.error(`${s + 1}/${scenes} scenes, ${seen.length}/${total} faces seen (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
}
detector.dispose();

const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
const rows: Record<string, unknown>[] = [];
let md = `## Beyond FER2013's crops: faces cut by the detector

${seen.length} of ${total} ${split} faces in ${scenes} composed scenes were found by the detector
(3x3 tiles and a second look, as \`detect\` runs on images) and classified from its box, as
\`emodetect detect\` does. "Original crops" scores the same faces from FER2013's own 48x48 crops.
Reproduce: \`npx tsx tools/generalisation.ts ../shared/data/fer2013/fer2013.csv.gz ${v.model.map((m) => `--model ${m}`).join(' ')} --scenes ${scenes} --seed ${v.seed}${split === 'PrivateTest' ? '' : ` --split ${split}`}\`.

| model | accuracy through detect | on the original crops | macro recall through detect | lowest class recall | predicted neutral / truly neutral | neutral precision | calibration error (ECE) |
| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |
`;
const perClassMd: string[] = [];
for (const [mi, m] of models.entries()) {
  const probs = new Float32Array(seen.length * k);
  seen.forEach((f, i) => probs.set(f.probs[mi], i * k));
  const pred = argmaxRows(probs, k);
  const crops = new Float32Array(seen.length * ds.width * ds.height);
  const per = ds.width * ds.height;
  seen.forEach((f, i) => toUnitFloat(ds.pixels.subarray(f.index * per, (f.index + 1) * per), crops, i * per));
  const cropPred = argmaxRows(await predictProbabilities(m, crops, seen.length), k);
  const truth = seen.map((f) => f.truth);
  const acc = truth.filter((t, i) => pred[i] === t).length / seen.length;
  const cropAcc = truth.filter((t, i) => cropPred[i] === t).length / seen.length;
  const recall = labels.map((_, c) => {
    const idx = truth.flatMap((t, i) => (t === c ? [i] : []));
    return idx.length ? idx.filter((i) => pred[i] === c).length / idx.length : NaN;
  });
  const valid = recall.filter((r) => !Number.isNaN(r));
  const macroRecall = valid.reduce((a, b) => a + b, 0) / valid.length;
  const lowest = recall.reduce((a, r, c) => (!Number.isNaN(r) && r < a.r ? { r, c } : a), { r: 2, c: -1 });
  const predNeutral = pred.filter((p) => p === neutral).length;
  const trueNeutral = truth.filter((t) => t === neutral).length;
  const neutralPrecision = predNeutral ? truth.filter((t, i) => pred[i] === neutral && t === neutral).length / predNeutral : NaN;
  // Expected calibration error over 10 confidence bins.
  const bins = Array.from({ length: 10 }, () => ({ n: 0, conf: 0, hits: 0 }));
  seen.forEach((f, i) => {
    const conf = probs[i * k + pred[i]];
    const b = bins[Math.min(9, Math.floor(conf * 10))];
    b.n++;
    b.conf += conf;
    b.hits += pred[i] === f.truth ? 1 : 0;
  });
  const ece = bins.reduce((a, b) => a + (b.n ? (b.n / seen.length) * Math.abs(b.hits / b.n - b.conf / b.n) : 0), 0);
  md += `| ${m.metadata.name} | **${pct(acc)}** | ${pct(cropAcc)} | ${pct(macroRecall)} | ${pct(lowest.r)} (${labels[lowest.c]}) | ${(predNeutral / Math.max(1, trueNeutral)).toFixed(2)} (${predNeutral} / ${trueNeutral}) | ${pct(neutralPrecision)} | ${pct(ece)} |\n`;
  perClassMd.push(`| ${m.metadata.name} | ${recall.map((r) => (Number.isNaN(r) ? '–' : pct(r))).join(' | ')} |`);
  rows.push({
    model: m.metadata.name,
    seen: seen.length,
    total,
    accuracy: acc,
    cropAccuracy: cropAcc,
    recall,
    macroRecall,
    predNeutral,
    trueNeutral,
    neutralPrecision,
    ece,
  });
}
md += `
Recall per class through detect:

| model | ${labels.join(' | ')} |
| --- | ${labels.map(() => '---:').join(' | ')} |
${perClassMd.join('\n')}

"Predicted neutral / truly neutral" above 1 means the model answers "neutral" more often than
faces are neutral (the fault a user notices first on real photos); ECE is the mean gap between
the confidence of the answer and how often such answers are right.
`;
process.stdout.write(md);
if (v.out) await writeFile(v.out, JSON.stringify({ scenes, seed: Number(v.seed), rows }, null, 2) + '\n');
