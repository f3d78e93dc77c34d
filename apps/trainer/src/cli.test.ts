/**
 * End-to-end tests of the emodetect CLI, run as a user would (a child process): bad input gives
 * one line and a non-zero exit; a real FER2013 training run is killed, resumed and evaluated.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import path from 'node:path';
import { FER2013_CLASSES } from '@emodetect/preprocess';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireExpw, requireFer2013 } from '../../../tools/test-data.ts';
import { cli, expectOneLineError } from './test-cli.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'emodetect-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const px = (v: number) => Array.from({ length: 2304 }, (_, i) => (v * 31 + i) % 256).join(' ');

describe('bad input', () => {
  it('prints help, and usage errors exit 2 with one line', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/train\s+train a CNN/);
    const noData = await cli(['train']);
    expect(noData.code).toBe(2);
    expectOneLineError(noData, /train: --data <csv\|csv.gz\|folder> is required/);
    const unknown = await cli(['train', '--data', 'x.csv', '--frobnicate']);
    expect(unknown.code).toBe(2);
    expectOneLineError(unknown, /Unknown option '--frobnicate'/);
    const badArch = await cli(['train', '--data', 'x.csv', '--arch', 'huge']);
    expectOneLineError(badArch, /--arch must be one of micro, tiny, edge, small, hybrid, medium, base, wide, large/);
    const badRefine = await cli(['detect', 'x.png', '--refine', 'maybe']);
    expect(badRefine.code).toBe(2);
    expectOneLineError(badRefine, /detect: --refine must be one of on, off/);
    const refineNoTiles = await cli(['detect', 'x.png', '--tiles', '0', '--refine', 'on']);
    expect(refineNoTiles.code).toBe(2);
    expectOneLineError(refineNoTiles, /detect: --refine on needs tiles/);
  });

  it('without the native library, --backend native is a one-line usage error and auto says it uses wasm', async () => {
    const env = { EMODETECT_NATIVE_LIB: path.join(dir, 'no-such-lib.so') };
    const data = path.join(dir, 'missing.csv.gz');
    const native = await cli(['train', '--data', data, '--backend', 'native', '--out', path.join(dir, 'n0')], undefined, env);
    expect(native.code).toBe(2);
    expectOneLineError(native, /train: --backend native: .*no-such-lib\.so is not built \(apt-get install libdnnl-dev g\+\+/);
    const auto = await cli(['train', '--data', data, '--out', path.join(dir, 'n1')], undefined, env);
    expect(auto.stderr).toMatch(/native backend not used: .*no-such-lib\.so is not built/);
    expect(auto.stderr).toMatch(/backend: wasm/);
  });

  it('a missing data file is named in one line', async () => {
    const r = await cli(['train', '--data', path.join(dir, 'missing.csv.gz'), '--out', path.join(dir, 'r0')]);
    expect(r.code).toBe(1);
    expectOneLineError(r, /missing\.csv\.gz: not found/);
  });

  it('a bad CSV row stops with its row number; --skip-bad trains over it', async () => {
    const rows = ['emotion,pixels,Usage'];
    for (let i = 0; i < 40; i++) rows.push(`${i % 7},${px(i)},${i < 28 ? 'Training' : 'PublicTest'}`);
    rows[6] = `3,${px(5).split(' ').slice(0, 100).join(' ')},Training`;
    rows[9] = `12,${px(8)},Training`;
    const csv = path.join(dir, 'bad.csv');
    await writeFile(csv, rows.join('\n') + '\n');
    const r = await cli(['train', '--data', csv, '--arch', 'micro', '--epochs', '1', '--out', path.join(dir, 'r1')]);
    expect(r.code).toBe(1);
    expectOneLineError(r, /bad\.csv: row 5 \(line 7\): has 100 pixel values \(expected 2304\) \(use --skip-bad/);
    const ok = await cli([
      'train',
      '--data',
      csv,
      '--arch',
      'micro',
      '--epochs',
      '1',
      '--batch',
      '8',
      '--skip-bad',
      '--out',
      path.join(dir, 'r1'),
    ]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/warning: skipped .*row 8 \(line 10\): emotion label "12" is out of range/);
    expect(ok.stderr).toMatch(/read 38 images .* skipped 2 bad/);
  });

  it('--mixup is recorded with the run and a bad value is one line', async () => {
    const csv = path.join(dir, 'bad.csv');
    const base = ['train', '--data', csv, '--arch', 'micro', '--epochs', '1', '--batch', '8', '--skip-bad'];
    const bad = await cli([...base, '--mixup', '-1', '--out', path.join(dir, 'mx')]);
    expect(bad.code).toBe(2);
    expectOneLineError(bad, /train: --mixup/);
    const ok = await cli([...base, '--mixup', '0.3', '--out', path.join(dir, 'mx')]);
    expect(ok.code, ok.stderr).toBe(0);
    const state = JSON.parse(await readFile(path.join(dir, 'mx', 'last', 'train-state.json'), 'utf8'));
    expect(JSON.stringify(state)).toMatch(/"mixup":0\.3/);
  });

  it('trains on several sources: FER2013-style faces and ExpW photos through the detector, by weight, with per-source validation and a fitted prior', async () => {
    const csv = path.join(dir, 'bad.csv');
    // 49 ExpW training photos (7 per class) listed by a CSV of our own that points into the shared folder.
    const labels = requireExpw();
    const lines = (await readFile(labels, 'utf8')).trim().split('\n');
    const picked = FER2013_CLASSES.flatMap((c) => lines.filter((l) => l.split(',')[1] === c && l.split(',')[2] === 'train').slice(0, 7));
    const root = path.join(path.dirname(labels), 'images');
    const photos = path.join(dir, 'photos.csv');
    await writeFile(photos, [lines[0], ...picked.map((l) => `${path.join(root, l.split(',')[0])}${l.slice(l.indexOf(','))}`)].join('\n'));
    const env = { EMODETECT_CACHE: path.join(dir, 'cache') };
    const base = ['train', '--data', csv, '--data', photos, '--arch', 'micro', '--epochs', '1', '--batch', '8', '--skip-bad'];
    const badWeights = await cli([...base, '--weights', '1', '--out', path.join(dir, 'mix0')], undefined, env);
    expect(badWeights.code).toBe(2);
    expectOneLineError(badWeights, /train: --weights 1: give one weight in \(0, 100\] per source, in order \(2: /);
    const run = path.join(dir, 'mix');
    const ok = await cli([...base, '--weights', '1,2', '--out', run], undefined, env);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/photos\.csv: the detector found 4\d of 49 faces/);
    expect(ok.stderr).toMatch(/"valBySource":\{"fer2013":[\d.]+,"[^"]+":[\d.]+\}/);
    expect(ok.stderr).toMatch(/prior correction fitted on fer2013\/val, /);
    const meta = JSON.parse(await readFile(path.join(run, 'model', 'metadata.json'), 'utf8'));
    expect(meta.training.sources.map((s: { kind: string; weight: number }) => [s.kind, s.weight])).toEqual([
      ['faces', 1],
      ['photos', 2],
    ]);
    // FER2013's 26 training faces once, the photos' training part twice.
    const photoTrain = meta.training.sources[1].trainImages;
    expect(meta.training.trainImages).toBe(26 + 2 * photoTrain);
    expect(meta.priorCorrection.weights).toHaveLength(7);
    expect(meta.metrics.map((m: { split: string }) => m.split)).toEqual(['val', 'fer2013/val', `${meta.training.sources[1].name}/val`]);
    // The second run reads the crops from the cache.
    const again = await cli([...base, '--weights', '1,2', '--out', path.join(dir, 'mix2')], undefined, env);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toMatch(/the detector found 4\d of 49 faces \(cached in /);
    // eval reads the same photos, through the detector or as direct crops of the labelled box.
    for (const faces of ['detect', 'box']) {
      const ev = await cli(['eval', '--model', run, '--data', photos, '--split', 'val', '--faces', faces, '--json'], undefined, env);
      expect(ev.code, ev.stderr).toBe(0);
      expect(JSON.parse(ev.stdout).n).toBe(meta.training.sources[1].valImages);
    }
    const notPhotos = await cli(['eval', '--model', run, '--data', csv, '--faces', 'box'], undefined, env);
    expect(notPhotos.code).toBe(2);
    expectOneLineError(notPhotos, /eval: --faces applies to labelled-photo CSVs/);
  });

  it('--teacher distils from a trained model; a bad teacher is one line', async () => {
    const csv = path.join(dir, 'bad.csv');
    const base = ['train', '--data', csv, '--arch', 'micro', '--epochs', '1', '--batch', '8', '--skip-bad'];
    const noTeacher = await cli([...base, '--teacher-weight', '0.5', '--out', path.join(dir, 'r2')]);
    expect(noTeacher.code).toBe(2);
    expectOneLineError(noTeacher, /train: --teacher-weight needs --teacher/);
    const missing = await cli([...base, '--teacher', path.join(dir, 'nope'), '--out', path.join(dir, 'r2')]);
    expect(missing.code).toBe(2);
    expectOneLineError(missing, /train: --teacher .*nope: model folder not found/);
    const ok = await cli([...base, '--teacher', path.join(dir, 'r1', 'model'), '--teacher-weight', '0.5', '--out', path.join(dir, 'r2')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/distilling from r1 \(\d+\.\d% on the training faces\), teacher weight 0\.5/);
    // Online: the teacher answers on every augmented batch inside the native engine.
    const online = await cli([...base, '--teacher', path.join(dir, 'r1', 'model'), '--teacher-online', '--out', path.join(dir, 'r3')]);
    expect(online.code, online.stderr).toBe(0);
    expect(online.stderr).toMatch(/distilling online from r1, teacher weight 0\.7/);
    expect(online.stderr).toMatch(/1 online teacher/);
  });

  it('--teacher also takes a teacher-labels file; a bad one is one line', async () => {
    const csv = path.join(dir, 'bad.csv');
    const base = ['train', '--data', csv, '--arch', 'micro', '--epochs', '1', '--batch', '8', '--skip-bad'];
    const classes = [...FER2013_CLASSES];
    const labels = async (name: string, rows: number[], p: (r: number) => number[], extra: object = {}) => {
      const file = path.join(dir, name);
      const doc = { format: 'emodetect-teacher-labels', version: 1, classes, rows, probabilities: rows.map(p), ...extra };
      await writeFile(file, JSON.stringify(doc));
      return file;
    };
    const rows = Array.from({ length: 28 }, (_, r) => r);
    // The teacher answers the row's own label (i % 7) with 0.4 and spreads the rest.
    const own = (r: number) => classes.map((_, c) => (c === r % 7 ? 0.4 : 0.1));
    const good = await labels('good.json', rows, own, { description: 'test labels' });
    // Gzipped files are read too (a second copy of the same labels: both teachers agree).
    const gz = path.join(dir, 'good.json.gz');
    await writeFile(gz, gzipSync(await readFile(good)));
    const ok = await cli([...base, '--teacher', good, '--teacher', gz, '--out', path.join(dir, 'r4')]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stderr).toMatch(/teacher .*good\.json: test labels/);
    expect(ok.stderr).toMatch(
      /distilling from .*good\.json \(100\.0% on the training faces\), .*good\.json\.gz \(100\.0% on the training faces\), teacher weight 0\.7/,
    );
    const cases: [string, string, RegExp][] = [
      [
        'missing.json',
        await labels(
          'missing.json',
          rows.filter((r) => r !== 20),
          own,
        ),
        /missing\.json: no probabilities for training row 20 /,
      ],
      [
        'sum.json',
        await labels('sum.json', rows, () => classes.map(() => 0.2)),
        /sum\.json: probabilities\[0\] \(row 0\) sum to 1\.4000, not 1/,
      ],
      [
        'classes.json',
        await labels('classes.json', rows, own, { classes: classes.slice(1) }),
        /classes\.json: its classes \(disgust, .*\) differ/,
      ],
      ['not json', await writeFile(path.join(dir, 'x.json'), '{"format":').then(() => path.join(dir, 'x.json')), /x\.json: not valid JSON/],
      [
        'other json',
        await writeFile(path.join(dir, 'y.json'), '[1,2]').then(() => path.join(dir, 'y.json')),
        /y\.json: not a teacher-labels file/,
      ],
    ];
    for (const [what, file, line] of cases) {
      const r = await cli([...base, '--teacher', file, '--out', path.join(dir, 'r5')]);
      expect(r.code, what).toBe(2);
      expectOneLineError(r, line);
    }
    const online = await cli([...base, '--teacher', good, '--teacher-online', '--out', path.join(dir, 'r5')]);
    expect(online.code).toBe(2);
    expectOneLineError(online, /good\.json: --teacher-online needs model folders/);
  }, 60_000);

  it('an unreadable model folder is one line for eval', async () => {
    const csv = path.join(dir, 'bad.csv');
    const none = await cli(['eval', '--model', path.join(dir, 'nope'), '--data', csv]);
    expect(none.code).toBe(1);
    expectOneLineError(none, /nope: model folder not found/);
    const model = path.join(dir, 'r1', 'model');
    const w = await readFile(path.join(model, 'weights.bin'));
    await writeFile(path.join(model, 'weights.bin'), w.subarray(0, 10));
    const broken = await cli(['eval', '--model', model, '--data', csv, '--skip-bad', '--split', 'PublicTest']);
    expect(broken.code).toBe(1);
    expectOneLineError(broken, /weights are 10 bytes but model.json describes/);
  });
});

describe('resume on wasm after SIGKILL', () => {
  it('gives bit for bit the weights of an uninterrupted run', async () => {
    const rows = ['emotion,pixels,Usage'];
    for (let i = 0; i < 120; i++) rows.push(`${i % 7},${px(i)},${i < 96 ? 'Training' : 'PublicTest'}`);
    const csv = path.join(dir, 'resume.csv');
    await writeFile(csv, rows.join('\n') + '\n');
    const args = (out: string) => [
      'train',
      '--data',
      csv,
      '--arch',
      'micro',
      '--epochs',
      '3',
      '--batch',
      '8',
      '--patience',
      '0',
      '--backend',
      'wasm',
      '--out',
      out,
    ];
    const whole = await cli(args(path.join(dir, 'wasm-whole')));
    expect(whole.code, whole.stderr).toBe(0);
    // Killed as soon as the first epoch is saved (its line comes after the checkpoint), in epoch 2.
    const killed = await cli(args(path.join(dir, 'wasm-part')), (err) => /"type":"epoch","epoch":1/.test(err));
    expect(killed.signal).toBe('SIGKILL');
    const resumed = await cli([...args(path.join(dir, 'wasm-part')), '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*wasm-part after epoch 1/);
    for (const f of ['last/weights.bin', 'model/weights.bin']) {
      const a = await readFile(path.join(dir, 'wasm-whole', f));
      const b = await readFile(path.join(dir, 'wasm-part', f));
      expect(b.equals(a), f).toBe(true);
    }
  }, 180_000);
});

describe('eval --ferplus', () => {
  it('scores against the FER+ relabels, and names a missing FER+ file in one line', async () => {
    const data = requireFer2013();
    const ferplus = requireFer2013('fer2013new.csv');
    const out = path.join(dir, 'ferplus-report');
    const r = await cli(['eval', '--model', 'models/fer-small', '--data', data, '--ferplus', ferplus, '--limit', '300', '--report', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/FER\+ majority labels from .*: 35709 of 35887 images have votes/);
    expect(r.stderr).toMatch(/PrivateTest \(FER\+ labels\)/);
    const report = JSON.parse(await readFile(path.join(out, 'report.json'), 'utf8'));
    expect(report.n).toBe(300);
    expect(report.accuracy).toBeGreaterThan(0.4);
    const missing = await cli(['eval', '--data', data, '--ferplus', path.join(dir, 'nope.csv')]);
    expect(missing.code).toBe(1);
    expectOneLineError(missing, /nope\.csv/);
  }, 120_000);
});

describe('export', () => {
  it('writes the bundled model with float16 weights at half the size; --out is required', async () => {
    const usage = await cli(['export']);
    expect(usage.code).toBe(2);
    expectOneLineError(usage, /export: --out <dir> is required/);
    const out = path.join(dir, 'f16');
    const r = await cli(['export', '--quantize', 'float16', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const sizes = /weights ([\d.]+) MB → ([\d.]+) MB \(float16\)/.exec(r.stderr);
    expect(sizes, r.stderr).not.toBeNull();
    expect(Number(sizes![2])).toBeCloseTo(Number(sizes![1]) / 2, 1);
    expect(JSON.parse(await readFile(path.join(out, 'metadata.json'), 'utf8')).quantization).toBe('float16');
  });
});

describe('training on the real FER2013', () => {
  it('trains natively, survives a kill, resumes to the same weights as an unbroken run, and beats chance on PrivateTest', async () => {
    const data = requireFer2013();
    const run = path.join(dir, 'fer');
    const args = ['train', '--data', data, '--arch', 'small', '--limit', '3000', '--val-limit', '600', '--epochs', '3'];
    // The native backend (CI builds it), two threads on any machine, so that the run is the same everywhere.
    args.push('--batch', '32', '--lr', '0.002', '--no-augment', '--backend', 'native', '--threads', '2', '--out', run);

    // Kill -9 in the middle of epoch 2, i.e. after the epoch-1 checkpoint was written.
    let epochLinesAtKill = 0;
    const killed = await cli(args, (err) => {
      const epochs = (err.match(/"type":"epoch"/g) ?? []).length;
      const batchesAfter =
        err
          .split('"type":"epoch"')
          .pop()!
          .match(/"type":"batch"/g)?.length ?? 0;
      if (epochs >= 1 && batchesAfter >= 1 && !epochLinesAtKill) {
        epochLinesAtKill = epochs;
        return true;
      }
      return false;
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(epochLinesAtKill).toBe(1);
    // Nothing half-written is left beside the run's folders; the killed run's lock stays (its
    // process is gone, so the next run takes it over).
    expect((await readdir(run)).sort()).toEqual(['.lock', 'curves.svg', 'last', 'log.jsonl', 'model']);
    const state = JSON.parse(await readFile(path.join(run, 'last', 'train-state.json'), 'utf8'));
    expect(state.state.epoch).toBe(1);

    // Training again without --resume refuses to overwrite the run.
    const refused = await cli(args);
    expect(refused.code).toBe(2);
    expectOneLineError(refused, /already holds a run; add --resume/);

    const resumed = await cli([...args, '--resume']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .* after epoch 1/);
    expect(await readdir(run)).not.toContain('.lock');
    const log = (await readFile(path.join(run, 'log.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(log.map((e) => e.epoch)).toEqual([1, 2, 3]);
    const meta = JSON.parse(await readFile(path.join(run, 'model', 'metadata.json'), 'utf8'));
    expect(meta.training.dataSha256).toMatch(/^[0-9a-f]{64}$/);
    // The model records the command that started the run, not the one that resumed it.
    expect(meta.training.command).toBe(['emodetect', ...args].join(' '));
    expect(meta.input).toEqual({ height: 48, width: 48, channels: 1, mean: 0, std: 1 });
    expect(meta.training.backend).toBe('native');

    // Resuming is exact: the same run without the kill ends with byte-identical weights.
    const unbroken = path.join(dir, 'fer-unbroken');
    const whole = await cli([...args.slice(0, -1), unbroken]);
    expect(whole.code, whole.stderr).toBe(0);
    const [a, b] = await Promise.all([
      readFile(path.join(run, 'last', 'weights.bin')),
      readFile(path.join(unbroken, 'last', 'weights.bin')),
    ]);
    expect(a.length).toBeGreaterThan(1_000_000);
    expect(a.equals(b)).toBe(true);

    const ev = await cli(['eval', '--model', run, '--data', data, '--split', 'PrivateTest', '--json']);
    expect(ev.code, ev.stderr).toBe(0);
    const lines = ev.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const r = JSON.parse(lines[0]);
    expect(Object.keys(r)).toEqual(['n', 'accuracy', 'macroF1', 'labels', 'perClass', 'confusionMatrix']);
    expect(r.n).toBe(3589);
    expect(r.labels).toEqual(['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral']);
    expect(r.confusionMatrix.flat().reduce((a: number, b: number) => a + b, 0)).toBe(3589);
    // Chance: always answering the majority class (happy) scores 879/3589 = 24.5% on PrivateTest.
    const majority = Math.max(...r.confusionMatrix.map((row: number[]) => row.reduce((a, b) => a + b, 0))) / r.n;
    expect(majority).toBeCloseTo(0.245, 2);
    console.info(
      `PrivateTest accuracy after 3 epochs on 3,000 images: ${(100 * r.accuracy).toFixed(2)}% (majority class ${(100 * majority).toFixed(1)}%)`,
    );
    expect(r.accuracy).toBeGreaterThan(majority + 0.1);
  }, 900_000);
});
