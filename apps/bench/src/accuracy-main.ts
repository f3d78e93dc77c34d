/**
 * `nx run bench:accuracy`: this toolkit's models against face-api.js and Human on FER2013
 * PrivateTest, in one run (see accuracy.ts). Prints Markdown; writes every figure as JSON.
 *
 *   node --import tsx apps/bench/src/accuracy-main.ts [--model <dir> ...] [--data fer2013.csv.gz]
 *        [--quick] [--out runs/bench-accuracy.json]
 *
 * --quick: the first 300 PrivateTest faces and 20 timed calls (the CI smoke test's size).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { initNodeBackend } from '@emodetect/backend/node';
import { bundledModelDir } from '@emodetect/model/node';
import { readFer2013 } from '@emodetect/preprocess/node';
import { accuracyMarkdown, benchAccuracy } from './accuracy.ts';
import { benchCommand } from './stats.ts';

try {
  const { values: v } = parseArgs({
    options: {
      model: { type: 'string', multiple: true },
      data: { type: 'string', default: '../shared/data/fer2013/fer2013.csv.gz' },
      quick: { type: 'boolean', default: false },
      out: { type: 'string', default: path.join('runs', 'bench-accuracy.json') },
    },
  });
  await initNodeBackend({ backend: 'wasm' });
  const ds = await readFer2013(v.data!).catch((e: unknown) => {
    throw new Error(`bench:accuracy: ${v.data}: ${e instanceof Error ? e.message : String(e)}`);
  });
  const result = await benchAccuracy(ds, {
    models: v.model ?? [bundledModelDir()],
    limit: v.quick ? 300 : undefined,
    latencyReps: v.quick ? 20 : 100,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const command = benchCommand('accuracy');
  console.log(accuracyMarkdown(result, command));
  await fs.mkdir(path.dirname(v.out!), { recursive: true });
  await fs.writeFile(v.out!, JSON.stringify({ command, ...result }, null, 2));
  console.log(`\nJSON: ${v.out}`);
} catch (e) {
  console.error(e instanceof Error ? e.message : String(e));
  process.exit(1);
}
