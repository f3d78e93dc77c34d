/**
 * `nx run bench:train`: training throughput per backend and kernel set, side by side.
 *
 *   node --import tsx apps/bench/src/train.ts [--arch small] [--batch 64] [--backends wasm-stock,wasm,native]
 *        [--workers 1,2] [--steps 4] [--json] [--quick] [--out runs/bench-train.json]
 *
 * Each configuration runs in its own process (kernel registrations are global to a process), and
 * the table compares them. `wasm-stock` is tfjs-backend-wasm as shipped; `wasm` adds this
 * project's kernels and gradients; `native` runs the whole step in C++ on oneDNN (its "workers"
 * are OpenMP threads; its profile is per layer kind), `native-bf16` with bfloat16 convolutions. Add `cpu` to see tfjs' reference backend.
 * Several architectures: --arch small,base.
 * Prints a Markdown table (or, with --json, the JSON) and writes every figure to --out.
 * --quick: the `micro` net, project kernels only, 1 worker, 2 steps (a smoke run).
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { measureTraining, type TrainBenchConfig, type TrainBenchResult } from './measure.ts';
import { benchCommand, machineDescription } from './stats.ts';

const self = fileURLToPath(import.meta.url);

async function child(config: TrainBenchConfig): Promise<TrainBenchResult> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', self, '--one', JSON.stringify(config)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => {
      const line = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line) as TrainBenchResult);
      } catch {
        resolve({ ...config, ok: false, error: `exit ${code}: ${err.trim().split('\n').pop() ?? ''}` });
      }
    });
  });
}

const { values: v } = parseArgs({
  options: {
    arch: { type: 'string', default: 'small' },
    batch: { type: 'string', default: '64' },
    backends: { type: 'string', default: 'wasm-stock,wasm,native,native-bf16' },
    workers: { type: 'string', default: '1,2' },
    steps: { type: 'string', default: '4' },
    json: { type: 'boolean', default: false },
    quick: { type: 'boolean', default: false },
    out: { type: 'string', default: path.join('runs', 'bench-train.json') },
    one: { type: 'string' },
  },
});

if (v.one) {
  process.stdout.write(JSON.stringify(await measureTraining(JSON.parse(v.one) as TrainBenchConfig)) + '\n');
  process.exit(0);
}

if (v.quick) Object.assign(v, { arch: 'micro', backends: 'wasm', workers: '1', steps: '2' });
const configs: TrainBenchConfig[] = [];
for (const arch of v.arch!.split(','))
  for (const backend of v.backends!.split(',')) {
    for (const w of v.workers!.split(',').map(Number)) {
      // Stock wasm cannot train at all; one row says why.
      if (backend === 'wasm-stock' && w > 1) continue;
      configs.push({
        arch,
        batch: Number(v.batch),
        backend: backend as TrainBenchConfig['backend'],
        workers: w,
        // The native step is 10x shorter: time more of them.
        steps: backend.startsWith('native') ? Math.max(Number(v.steps), 20) : Number(v.steps),
      });
    }
  }
const results: TrainBenchResult[] = [];
for (const c of configs) {
  process.stderr.write(`measuring ${c.arch} batch ${c.batch} on ${c.backend} with ${c.workers} worker(s)…\n`);
  results.push(await child(c));
}
const command = benchCommand('train');
const machine = machineDescription();
await fs.mkdir(path.dirname(v.out!), { recursive: true });
await fs.writeFile(v.out!, JSON.stringify({ command, date: new Date().toISOString(), machine, results }, null, 2));
if (v.json) {
  process.stdout.write(JSON.stringify(results, null, 2) + '\n');
} else {
  const lines = [
    `Training at batch ${v.batch}, 48x48x1, Adam, through the training loop (augmentation on); tfjs rows time ${v.steps} steps, native rows ${Math.max(Number(v.steps), 20)}:`,
    '',
    '| net | backend | workers / threads | img/s | img/s per busy CPU-second | ms/step | one profiled step, wall ms | where its time goes, ms (tfjs: top kernels, composites include what they call; native: per layer kind) |',
    '| --- | --- | ---: | ---: | ---: | ---: | --- | --- |',
    ...results.map((r) =>
      r.ok
        ? `| ${r.arch} | ${r.backend} | ${r.workers} | ${r.imagesPerSecond!.toFixed(1)} | ${r.imagesPerCpuSecond?.toFixed(1) ?? '–'} | ${r.msPerStep!.toFixed(r.msPerStep! < 100 ? 1 : 0)} | ${r.profiledWallMs!.toFixed(r.profiledWallMs! < 100 ? 1 : 0)} | ${r
            .topKernels!.slice(0, 6)
            .map((k) => `${k.name} ${k.ms.toFixed(k.ms < 10 ? 1 : 0)}`)
            .join(
              ', ',
            )}${r.augmentMs !== undefined ? `; augmentation (JS) ${r.augmentMs.toFixed(1)}` : ''}${r.pageFaultsPerStep !== undefined ? `; ${r.pageFaultsPerStep.toFixed(0)} page faults per step` : ''} |`
        : `| ${r.arch} | ${r.backend} | ${r.workers} | – | – | – | does not run: ${r.error} | |`,
    ),
  ];
  process.stdout.write(lines.join('\n') + `\n\nCommand: \`${command}\` (${machine})\nJSON: ${v.out}\n`);
}
