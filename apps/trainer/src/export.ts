/** `emodetect export`: a model folder with quantised weights, for phones and the browser. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { initNodeBackend } from '@emodetect/backend/node';
import { bundledModelDir, exportModel, QUANTIZATIONS } from '@emodetect/model/node';
import { choiceOption, parseCommand } from './args.ts';
import { UsageError, writingTo } from './errors.ts';
import { makeFolder, Outputs } from './outputs.ts';
import { loadModelArg, resolveModelDir } from './eval.ts';
import { stderrLog } from './log.ts';

/** What an exported model folder holds: all that --overwrite may replace. */
const MODEL_FILES = ['model.json', 'weights.bin', 'metadata.json'];

export const EXPORT_HELP = `emodetect export [--model <dir>] --out <dir> [--quantize uint8|float16|none] [--overwrite]

Write a copy of a model folder with quantised weights: uint8 (about 4x smaller) or float16 (2x).
tfjs dequantises them when it loads the model, in Node and in the browser. Measure the accuracy
change with emodetect eval on both folders.

Options:
  --model <dir>        model folder (default: the bundled models/fer-base)
  --out <dir>          where to write the exported folder (required; a new folder, outside the model folder)
  --quantize Q         ${QUANTIZATIONS.join(' | ')} (default: uint8)
  --overwrite          replace --out if it exists and holds only an exported model (${MODEL_FILES.join(', ')});
                       a folder with anything else in it is never touched`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values: v } = parseCommand('export', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    quantize: { type: 'string' },
    overwrite: { type: 'boolean' },
  });
  if (!v.out) throw new UsageError('export: --out <dir> is required (see emodetect export --help)');
  const quantize = choiceOption('export', 'quantize', v.quantize, QUANTIZATIONS, 'uint8');
  const log = stderrLog();
  const source = await resolveModelDir(v.model ?? bundledModelDir());
  const outputs = new Outputs({ command: 'export', inputs: [source], overwrite: Boolean(v.overwrite) });
  await outputs.claim(v.out, '--out', { folder: true, accept: (names) => names.every((n) => MODEL_FILES.includes(n)) });
  await initNodeBackend({ backend: 'cpu' });
  const m = await loadModelArg(source);
  const out = v.out;
  await writingTo(out, async () => {
    await makeFolder(path.dirname(path.resolve(out)));
    await exportModel(m, out, quantize);
  });
  const size = async (d: string) => (await fs.stat(path.join(d, 'weights.bin'))).size;
  const before = await size(source);
  const after = await size(v.out);
  log.info(`${source} → ${v.out}: weights ${(before / 1e6).toFixed(2)} MB → ${(after / 1e6).toFixed(2)} MB (${quantize})`);
  return 0;
}
