/** `emodetect export`: a model folder with quantised weights, for phones and the browser. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { initNodeBackend } from '@emodetect/backend/node';
import { bundledModelDir, exportModel, QUANTIZATIONS } from '@emodetect/model/node';
import { choiceOption, parseCommand } from './args.ts';
import { UsageError } from './errors.ts';
import { loadModelArg, resolveModelDir } from './eval.ts';
import { stderrLog } from './log.ts';

export const EXPORT_HELP = `emodetect export [--model <dir>] --out <dir> [--quantize uint8|float16|none]

Write a copy of a model folder with quantised weights: uint8 (about 4x smaller) or float16 (2x).
tfjs dequantises them when it loads the model, in Node and in the browser. Measure the accuracy
change with emodetect eval on both folders.

Options:
  --model <dir>        model folder (default: the bundled models/fer-base)
  --out <dir>          where to write the exported folder (required; replaced atomically)
  --quantize Q         ${QUANTIZATIONS.join(' | ')} (default: uint8)`;

export async function exportCommand(argv: string[]): Promise<number> {
  const { values: v } = parseCommand('export', argv, {
    model: { type: 'string' },
    out: { type: 'string' },
    quantize: { type: 'string' },
  });
  if (!v.out) throw new UsageError('export: --out <dir> is required (see emodetect export --help)');
  const quantize = choiceOption('export', 'quantize', v.quantize, QUANTIZATIONS, 'uint8');
  const log = stderrLog();
  const source = await resolveModelDir(v.model ?? bundledModelDir());
  if (path.resolve(source) === path.resolve(v.out)) throw new UsageError('export: --out must differ from the model folder');
  await initNodeBackend({ backend: 'cpu' });
  const m = await loadModelArg(source);
  await exportModel(m, v.out, quantize);
  const size = async (d: string) => (await fs.stat(path.join(d, 'weights.bin'))).size;
  const before = await size(source);
  const after = await size(v.out);
  log.info(`${source} → ${v.out}: weights ${(before / 1e6).toFixed(2)} MB → ${(after / 1e6).toFixed(2)} MB (${quantize})`);
  return 0;
}
