/**
 * Fit (or refit) a model folder's prior correction on the validation parts of its sources, as
 * `emodetect train --prior fit` does at the end of a run: FER2013 files validate on PublicTest,
 * labelled-photo CSVs (ExpW) on the 15% of their train split held out by whole photo (the same
 * faces training validated on). Use it after changing a model's test-time views (`--tta`), whose
 * answers the correction must match. Writes metadata.json in place (atomically).
 *
 *   npx tsx tools/fit-prior.ts <model-dir> --data <fer2013.csv.gz> --data <labels.csv> [--tta none|flip|views]
 */
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '@emodetect/backend/node';
import { loadModelFolder, useFoldedInference, writeAtomically, type TtaPolicy } from '@emodetect/model/node';
import { useNativeInference } from '@emodetect/native';
import { DEFAULT_CROP, readFer2013, splitIndices } from '@emodetect/preprocess/node';
import { createPhotoDetector, mixSources, readPhotoFaces, type Source } from '@emodetect/sources/node';
import { fitPriorCorrection } from '@emodetect/train/node';

const { values: v, positionals } = parseArgs({
  allowPositionals: true,
  options: { data: { type: 'string', multiple: true }, tta: { type: 'string' } },
});
const [modelDir] = positionals;
if (!modelDir || !v.data?.length || (v.tta && !['none', 'flip', 'views'].includes(v.tta))) {
  console.error('usage: npx tsx tools/fit-prior.ts <model-dir> --data <fer2013.csv.gz|labels.csv> [--data ...] [--tta none|flip|views]');
  process.exit(2);
}
await initNodeBackend({ backend: 'wasm' });
const m = await loadModelFolder(modelDir);
if (v.tta) m.metadata.tta = v.tta as TtaPolicy;
const sources: Source[] = [];
const photo = await createPhotoDetector();
for (const file of v.data) {
  if (/\.csv$/i.test(file) && !/fer2013/i.test(path.basename(file))) {
    const r = await readPhotoFaces(file, {
      detector: photo.detector,
      detectorKey: photo.key,
      input: m.metadata.input,
      crop: { ...DEFAULT_CROP, ...m.metadata.crop },
    });
    sources.push({
      name: path.basename(path.dirname(path.resolve(file))),
      data: r.data,
      train: [],
      val: splitIndices(r.data, 'val'),
      weight: 1,
    });
  } else {
    const ds = await readFer2013(file);
    sources.push({ name: 'fer2013', data: ds, train: [], val: splitIndices(ds, 'PublicTest'), weight: 1 });
  }
}
photo.dispose();
const mixed = mixSources(sources, 1);
let native: { dispose(): void } | undefined;
try {
  native = useNativeInference(m, { batchSize: 256 });
} catch {
  useFoldedInference(m);
}
const fit = await fitPriorCorrection(
  m,
  mixed.data,
  mixed.valGroups.map((g) => ({ name: `${g.name}/val`, indices: g.indices })),
);
native?.dispose();
m.metadata.priorCorrection = fit.correction;
await writeAtomically(path.join(modelDir, 'metadata.json'), JSON.stringify(m.metadata, null, 2) + '\n');
console.log(
  `${modelDir}: tta ${m.metadata.tta}; prior correction ${m.metadata.labels.map((l, i) => `${l} x${fit.correction.weights[i].toFixed(2)}`).join(', ')} on ${fit.correction.fittedOn.join(', ')}: objective ${(100 * fit.before).toFixed(2)}% → ${(100 * fit.after).toFixed(2)}%`,
);
