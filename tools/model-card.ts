/**
 * Evaluate a model folder on FER2013 and write what its model card needs into the folder:
 * metrics in metadata.json (PrivateTest with and without the faces leaked from Training,
 * PublicTest), MODEL_CARD.md generated from them, and confusion-privatetest.svg.
 *
 *   npx tsx tools/model-card.ts <model-dir> <fer2013.csv.gz> [--run <run-dir>] [--notes <file.md>] [--ferplus <fer2013new.csv>]
 *
 * `--run` copies the run's training curves (curves.svg) next to the card; `--notes` appends a
 * hand-written section (what was tried, what it gave). The FER+ relabels (`fer2013new.csv`, beside the
 * data file unless `--ferplus` names it) add a row: PrivateTest scored against a cleaner target.
 * ExpW (`--expw labels.csv`, default `../expw/labels.csv` beside the data folder) adds its test split,
 * through the detector and as direct crops of the labelled box, with per-class recall, predicted-class
 * frequencies and calibration. `--robust <bench-robust.json>` adds the robustness table of `bench:robust`.
 */
import { existsSync } from 'node:fs';
import { copyFile, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type * as tf from '@tensorflow/tfjs';
import { initNodeBackend } from '@emodetect/backend/node';
import {
  classificationReport,
  confusionMatrixSvg,
  expectedCalibrationError,
  predictedFrequencies,
  reportMarkdown,
  type ClassificationReport,
} from '@emodetect/metrics';
import {
  argmaxRows,
  loadModelFolder,
  predictProbabilities,
  useFoldedInference,
  writeAtomically,
  type MetricsSummary,
} from '@emodetect/model/node';
import { useNativeInference } from '@emodetect/native';
import { applyFerPlus, DEFAULT_CROP, readFer2013, readFerPlus, splitIndices } from '@emodetect/preprocess/node';
import { createPhotoDetector, readPhotoFaces } from '@emodetect/sources/node';
import { evaluate, evaluateLeakAware, gatherImages } from '@emodetect/train/node';

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    run: { type: 'string' },
    notes: { type: 'string' },
    ferplus: { type: 'string' },
    expw: { type: 'string' },
    robust: { type: 'string' },
  },
});
const [modelDir, dataFile] = positionals;
if (!modelDir || !dataFile) {
  console.error('usage: npx tsx tools/model-card.ts <model-dir> <fer2013.csv.gz> [--run <run-dir>] [--notes <file.md>]');
  process.exit(2);
}

const info = await initNodeBackend();
const m = await loadModelFolder(modelDir);
// Natively when the library is built (the 14-view TTA is slow on one wasm thread), else folded tfjs.
let runtimeName = `${info.name} (1 thread), batch-norm folded`;
try {
  runtimeName = useNativeInference(m, { batchSize: 256 }).description;
} catch {
  useFoldedInference(m);
}
const ds = await readFer2013(dataFile);
const train = splitIndices(ds, 'Training');
const pct = (x: number) => `${(100 * x).toFixed(2)}%`;

const evaluateSplit = (split: string) => evaluateLeakAware(m, ds, splitIndices(ds, split), train);

const t0 = performance.now();
const priv = await evaluateSplit('PrivateTest');
const evalSeconds = (performance.now() - t0) / 1000;
const pub = await evaluateSplit('PublicTest');
// A cleaner target: the same PrivateTest faces scored against FER+'s relabels (the plurality of
// ten annotators), where fer2013new.csv is found (beside the data file, or --ferplus).
const ferPlusFile = v.ferplus ?? path.join(path.dirname(dataFile), 'fer2013new.csv');
let ferPlus: ClassificationReport | undefined;
if (existsSync(ferPlusFile)) {
  const relabelled = applyFerPlus(ds, await readFerPlus(ferPlusFile), 'majority');
  ferPlus = await evaluate(m, relabelled, splitIndices(relabelled, 'PrivateTest'));
} else if (v.ferplus) {
  console.error(`model-card: --ferplus ${v.ferplus}: file not found`);
  process.exit(2);
}
// ExpW test: faces found by the detector as `detect` finds them, and the labelled boxes cut directly.
const expwFile = v.expw ?? path.join(path.dirname(path.dirname(path.resolve(dataFile))), 'expw', 'labels.csv');
interface Wild {
  how: string;
  report: ClassificationReport;
  probs: Float32Array;
  labels: number[];
  photos: number;
}
const wild: Wild[] = [];
if (existsSync(expwFile)) {
  const photo = await createPhotoDetector();
  for (const faces of ['detect', 'box'] as const) {
    const r = await readPhotoFaces(expwFile, {
      detector: photo.detector,
      detectorKey: photo.key,
      input: m.metadata.input,
      crop: { ...DEFAULT_CROP, ...m.metadata.crop },
      faces,
    });
    const idx = splitIndices(r.data, 'test');
    const probs = await predictProbabilities(m, gatherImages(r.data, idx), idx.length);
    const labels = idx.map((i) => r.data.labels[i]);
    const report = classificationReport(labels, Array.from(argmaxRows(probs, m.metadata.labels.length)), m.metadata.labels);
    const photos = idx.length + r.missed.filter((x) => x.split === 'test').length;
    wild.push({ how: faces === 'detect' ? 'through the detector' : 'direct crops of the labelled box', report, probs, labels, photos });
  }
  photo.dispose();
} else if (v.expw) {
  console.error(`model-card: --expw ${v.expw}: file not found`);
  process.exit(2);
}

const summary = (split: string, r: ClassificationReport): MetricsSummary => ({ split, n: r.n, accuracy: r.accuracy, macroF1: r.macroF1 });
m.metadata.metrics = [
  summary('PrivateTest', priv.all),
  summary('PrivateTest-dedup', priv.dedup),
  summary('PublicTest', pub.all),
  ...(ferPlus ? [summary('PrivateTest-ferplus', ferPlus)] : []),
  ...wild.map((w) => summary(w.how.startsWith('through') ? 'ExpW-test-detect' : 'ExpW-test-box', w.report)),
];
const metaFile = path.join(modelDir, 'metadata.json');
await writeAtomically(metaFile, JSON.stringify(m.metadata, null, 2) + '\n');
await writeFile(
  path.join(modelDir, 'confusion-privatetest.svg'),
  confusionMatrixSvg(priv.all, { title: `${m.metadata.name} on FER2013 PrivateTest` }),
);
let curves = '';
if (v.run) {
  await copyFile(path.join(v.run, 'curves.svg'), path.join(modelDir, 'curves.svg')).then(
    () => (curves = '\n![Training curves](curves.svg)\n'),
    () => undefined,
  );
}
const weightsBytes = (await stat(path.join(modelDir, 'weights.bin'))).size;
// How the weights are stored: float32, or the dtype `emodetect export --quantize` wrote them in.
const manifest = JSON.parse(await readFile(path.join(modelDir, 'model.json'), 'utf8')) as { weightsManifest: tf.io.WeightsManifestConfig };
const storage = [...new Set(manifest.weightsManifest.flatMap((g) => g.weights.map((w) => w.quantization?.dtype ?? w.dtype)))].join(' and ');
// Training time over the whole run (all invocations), from the run's per-epoch log.
const epochSeconds = v.run
  ? (await readFile(path.join(v.run, 'log.jsonl'), 'utf8').catch(() => ''))
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { seconds: number }).seconds)
  : [];
const robustSection = v.robust ? robustMarkdownFor(JSON.parse(await readFile(v.robust, 'utf8')) as RobustJson) : '';
const t = m.metadata.training;
const notes = v.notes ? '\n' + (await readFile(v.notes, 'utf8')).trim() + '\n' : '';

const card = `# Model card: ${m.metadata.name}

${m.metadata.name} classifies a 48x48 grayscale face into one of seven emotions:
${m.metadata.labels.join(', ')}. The emodetect trainer trained it on FER2013.
Every number below comes from \`tools/model-card.ts\` (see [Reproduce](#reproduce)).
The CI test \`apps/trainer/src/bundled-model.test.ts\` recomputes the PrivateTest accuracy.

## Results on FER2013

| split | images | accuracy | macro F1 |
| --- | ---: | ---: | ---: |
| PrivateTest (final test, never used for choices) | ${priv.all.n} | **${pct(priv.all.accuracy)}** | ${pct(priv.all.macroF1)} |
| PrivateTest without the ${priv.duplicates} faces pixel-identical to Training faces | ${priv.dedup.n} | ${pct(priv.dedup.accuracy)} | ${pct(priv.dedup.macroF1)} |
| PublicTest (validation: used to pick the epoch) | ${pub.all.n} | ${pct(pub.all.accuracy)} | ${pct(pub.all.macroF1)} |
${ferPlus ? `| PrivateTest scored against the FER+ relabels (the plurality of ten annotators' votes for the seven emotions; faces with no such vote left out) | ${ferPlus.n} | ${pct(ferPlus.accuracy)} | ${pct(ferPlus.macroF1)} |\n` : ''}
For comparison, on the same PrivateTest faces (wasm, 1 thread; \`npx nx run bench:accuracy\`):
face-api.js's expression model scores 58.9% and Human's emotion model 66.6%.

${reportMarkdown(priv.all, 'PrivateTest: per class').replace(/^### /m, '### ')}${wildSection()}${robustSection}
![Confusion matrix on PrivateTest](confusion-privatetest.svg)
${curves}
## Model

| | |
| --- | --- |
| architecture | \`${m.metadata.arch}\`: see the registry in \`libs/model/src/architectures.ts\` |
| parameters | ${m.metadata.parameters.toLocaleString('en-US')} |
| weights | \`weights.bin\`, ${(weightsBytes / 1e6).toFixed(2)} MB, ${storage} |
| input | ${m.metadata.input.width}x${m.metadata.input.height} grayscale (BT.601 luma), pixel / 255, then (x - ${m.metadata.input.mean}) / ${m.metadata.input.std} |
| test-time augmentation | ${m.metadata.tta} |
| classes, in output order | ${m.metadata.labels.join(', ')} |
| test-time views | ${m.metadata.tta === 'views' ? '14 (the face shifted by 2 px four ways and zoomed by ±10%, each also mirrored)' : m.metadata.tta === 'flip' ? '2 (the face and its mirror image)' : '1'} |
| inference speed | ${(priv.all.n / evalSeconds || 0).toFixed(0)} faces/s in batches of 256 on ${runtimeName}, test-time views included, measured while writing this card |

## Training

| | |
| --- | --- |
| command | \`${t?.command ?? 'unknown'}\` |
| seed | ${t?.seed ?? 'unknown'} |
${
  t?.sources
    ? `| data | ${t.sources.map((s) => `\`${s.file}\` (${s.name}: ${s.kind === 'photos' ? `${s.found} of ${s.photos} faces found by the detector, ` : ''}${s.trainImages} training faces, weight ${s.weight}, ${s.valImages} for validation; sha256 \`${s.sha256.slice(0, 16)}…\`)`).join('; ')} |
| training faces per epoch | ${t.trainImages}; the best epoch is the one with the highest mean of the sources' validation accuracies |`
    : `| data | \`${t?.dataFile ?? '?'}\`, sha256 \`${t?.dataSha256 ?? '?'}\` |
| training images | ${t?.trainImages ?? '?'} (FER2013 Training); validation on PublicTest |`
}
| epochs run, batch | ${t?.epochs ?? '?'} (best epoch kept), ${t?.batchSize ?? '?'} |
| hardware, backend | ${t?.hardware ?? 'not recorded'}, ${t?.backend ?? '?'} |
| training time | ${
  epochSeconds.length
    ? `${(epochSeconds.reduce((a, b) => a + b, 0) / 60).toFixed(0)} min over ${epochSeconds.length} epochs (sum of the epochs in the run's log.jsonl)`
    : t
      ? `${(t.wallSeconds / 60).toFixed(0)} min (last invocation)`
      : '?'
} |

## Known weaknesses

- **Disgust and fear.** Disgust has 436 training images (1.5% of Training), so its recall is
  low. Fear is often confused with sad and surprise. Treat these two labels with care.
- **Label noise.** FER2013 labels are noisy: the FER+ re-annotation agrees with the original
  label on only about 65% of faces. Human accuracy on FER2013 is about 65%.
- **Data bias.** FER2013 faces come from a web image search. The distribution of age, skin
  tone, gender and culture is not documented and not balanced. Expect accuracy to vary across
  groups, and do not use this model for decisions about people.
- **Input domain.** The model expects frontal, roughly centred 48x48 grayscale face crops like
  FER2013's. Strong rotation, occlusion, profile views and very low light are outside what it
  has seen.
- **Posed vs felt.** The model recognises facial expressions, not felt emotions.
${notes}
## Reproduce

\`\`\`sh
${t?.command?.includes('--init') ? '# --init names the model this run started from: see "How this model was made"\n' : ''}${t?.command?.replace(/^emodetect/, 'npx emodetect') ?? '# training command not recorded'}
npx tsx tools/model-card.ts <run>/model ../shared/data/fer2013/fer2013.csv.gz --run <run>${v.notes ? ` --notes ${v.notes}` : ''}
npx emodetect eval --model ${modelDir} --data ../shared/data/fer2013/fer2013.csv.gz --split PrivateTest
\`\`\`
`;
await writeFile(path.join(modelDir, 'MODEL_CARD.md'), card);
console.log(
  `${modelDir}: PrivateTest ${pct(priv.all.accuracy)} (${pct(priv.dedup.accuracy)} without ${priv.duplicates} duplicates), PublicTest ${pct(pub.all.accuracy)}`,
);

function wildSection(): string {
  if (!wild.length) return '';
  const labels = m.metadata.labels;
  const k = labels.length;
  let md = `
## Faces in the wild: ExpW test

ExpW (Zhang et al., "From Facial Expression Recognition to Interpersonal Relation Prediction", 2016;
research use, never redistributed) is a set of web photos of all ages, poses, lighting and occlusion.
Its test split here (\`../shared/data/expw\`, 815 faces per class in all, photos never split between
train and test) is reported once per model, never tuned on. "Through the detector": each photo goes
through the face detector as \`emodetect detect\` runs on images, and the face is cut from the
detector's box with the model's crop; "direct crops": the labelled box is cut instead.
${m.metadata.priorCorrection ? `The model's prior correction (class weights ${labels.map((l, i) => `${l} x${m.metadata.priorCorrection!.weights[i].toFixed(2)}`).join(', ')}, fitted on ${m.metadata.priorCorrection.fittedOn.join(' and ')}) is applied, as every runtime applies it.\n` : ''}
| ExpW test | faces | accuracy | macro F1 | lowest class recall | calibration error (ECE) |
| --- | ---: | ---: | ---: | ---: | ---: |
`;
  for (const w of wild) {
    const recalls = labels.map((l) => w.report.perClass[l].recall);
    const low = recalls.indexOf(Math.min(...recalls));
    md += `| ${w.how} | ${w.report.n}${w.photos !== w.report.n ? ` of ${w.photos}` : ''} | **${pct(w.report.accuracy)}** | ${pct(w.report.macroF1)} | ${labels[low]} ${pct(recalls[low])} | ${pct(expectedCalibrationError(w.probs, k, w.labels))} |\n`;
  }
  md += `\nPer class, through the detector (ExpW test is balanced: a fair model predicts each class about ${pct(1 / k)} of the time):\n\n`;
  const det = wild[0];
  const freq = predictedFrequencies(det.probs, k);
  md += `| | ${labels.join(' | ')} |\n| --- |${labels.map(() => ' ---: |').join('')}\n`;
  md += `| recall | ${labels.map((l) => pct(det.report.perClass[l].recall)).join(' | ')} |\n`;
  md += `| precision | ${labels.map((l) => pct(det.report.perClass[l].precision)).join(' | ')} |\n`;
  md += `| predicted how often | ${freq.map(pct).join(' | ')} |\n`;
  md += `\nOn the same faces through the detector (\`npx nx run bench:robust\`, same 48x48 crops): face-api.js and Human are compared in the robustness table${v.robust ? ' below' : ' of BENCHMARKS.md'}.\n`;
  return md;
}

interface RobustJson {
  command: string;
  results: { set: string; n: number; models: string[]; rows: { perturbation: string; cells: { accuracy: number; macroF1: number }[] }[] }[];
}

function robustMarkdownFor(j: RobustJson): string {
  let md = `
## Robustness: degraded faces

From \`${j.command}\`: the same faces degraded in 16 ways, every model given the same 48x48 gray crops.
Accuracy (drop from clean); the best of each row in bold.
`;
  for (const r of j.results) {
    const clean = r.rows[0].cells;
    md += `\n| ${r.set} (${r.n} faces) | ${r.models.join(' | ')} |\n| --- |${r.models.map(() => ' ---: |').join('')}\n`;
    for (const row of r.rows) {
      const best = Math.max(...row.cells.map((c) => c.accuracy));
      md += `| ${row.perturbation} | ${row.cells
        .map((c, i) => {
          const text = `${pct(c.accuracy)}${row.perturbation === 'clean' ? '' : ` (${c.accuracy >= clean[i].accuracy ? '+' : '−'}${Math.abs(100 * (c.accuracy - clean[i].accuracy)).toFixed(1)})`}`;
          return c.accuracy === best ? `**${text}**` : text;
        })
        .join(' | ')} |\n`;
    }
  }
  return md;
}
