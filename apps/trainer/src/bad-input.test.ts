/**
 * The CLI under bad input and faults: one table of cases across train, eval, detect and export.
 * Each case runs `emodetect` as a user would and states the exit status and the one line it must
 * print; some also check that no file was harmed and that results already computed were kept.
 * (The real-FER2013 training, kill and resume test is in cli.test.ts.)
 */
import { cp, lstat, mkdir, readFile, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Jimp } from 'jimp';
import { REPO_ROOT } from '../../../tools/test-data.ts';
import { cli, expectOneLineError, type Run } from './test-cli.ts';

// Known when the cases are defined (their checks name files in it); made in beforeAll.
const d = path.join(tmpdir(), `emodetect-bad-${process.pid}-${Date.now()}`);
const p = (...parts: string[]) => path.join(d, ...parts);
const px = (v: number) => Array.from({ length: 2304 }, (_, i) => (v * 31 + i) % 256).join(' ');
const toyCsv = (n: number) =>
  ['emotion,pixels,Usage', ...Array.from({ length: n }, (_, i) => `${i % 7},${px(i)},${i < n * 0.75 ? 'Training' : 'PublicTest'}`)].join(
    '\n',
  ) + '\n';

/** A model folder copied from models/fer-small, then changed by `edit`. */
async function modelCopy(name: string, edit?: (dir: string) => Promise<void>): Promise<string> {
  const dir = p(name);
  await cp(path.join(REPO_ROOT, 'models', 'fer-small'), dir, { recursive: true });
  await edit?.(dir);
  return dir;
}

async function image(file: string, w = 64, h = 48): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const img = new Jimp({ width: w, height: h, color: 0x808080ff });
  await writeFile(file, await img.getBuffer('image/png'));
}

beforeAll(async () => {
  await mkdir(d);
  await writeFile(p('toy.csv'), toyCsv(80));
  await writeFile(p('empty.csv'), '');
  await writeFile(p('header.csv'), 'label,image\n1,2\n');
  const rows = toyCsv(20).split('\n');
  rows[4] = `3,${px(3).split(' ').slice(0, 100).join(' ')},Training`;
  await writeFile(p('badrow.csv'), rows.join('\n'));
  await writeFile(p('a-file'), 'not a folder');
  await mkdir(p('full'));
  await writeFile(p('full', 'notes.txt'), 'mine');
  await image(p('imgs', 'gray.png'));
  await image(p('a', 'x.png'));
  await image(p('b', 'x.png'));
  await cp(path.join(REPO_ROOT, 'examples', 'astronaut.png'), p('quote"d,name.png'));
  await mkdir(p('noimages'));
  await writeFile(p('noimages', 'readme.txt'), 'hi');
  await writeFile(p('text.png'), 'not an image at all');
  await writeFile(p('empty.png'), '');
  const png = await readFile(p('imgs', 'gray.png'));
  await writeFile(p('trunc.png'), png.subarray(0, 60));
  // A 4 KB TIFF claiming 20000 x 20000 pixels.
  const tiff = Buffer.alloc(4096);
  tiff.write('II', 0, 'latin1');
  tiff.writeUInt16LE(42, 2);
  tiff.writeUInt32LE(8, 4);
  tiff.writeUInt16LE(2, 8);
  [256, 257].forEach((tag, i) => {
    tiff.writeUInt16LE(tag, 10 + 12 * i);
    tiff.writeUInt16LE(4, 12 + 12 * i);
    tiff.writeUInt32LE(1, 14 + 12 * i);
    tiff.writeUInt32LE(20000, 18 + 12 * i);
  });
  await writeFile(p('bomb.tif'), tiff);
  await symlink(p('loop2'), p('loop1'));
  await symlink(p('loop1'), p('loop2'));
  await mkdir(p('annotated'));
  await image(p('annotated', 'gray.png'));
  // Image-folder dataset with one class folder that holds no image.
  await image(p('folder', 'train', 'happy', 'a.png'), 48, 48);
  await image(p('folder', 'train', 'sad', 'b.png'), 48, 48);
  await mkdir(p('folder', 'train', 'angry'), { recursive: true });
  // Models: a good one and broken ones.
  await modelCopy('model');
  await modelCopy('five-labels', async (m) => {
    const meta = JSON.parse(await readFile(path.join(m, 'metadata.json'), 'utf8'));
    meta.labels = meta.labels.slice(0, 5);
    await writeFile(path.join(m, 'metadata.json'), JSON.stringify(meta));
  });
  await modelCopy('escape', async (m) => {
    const json = JSON.parse(await readFile(path.join(m, 'model.json'), 'utf8'));
    json.weightsManifest[0].paths = ['../../../../etc/passwd'];
    await writeFile(path.join(m, 'model.json'), JSON.stringify(json));
  });
  await modelCopy('truncated', async (m) => {
    const w = await readFile(path.join(m, 'weights.bin'));
    await writeFile(path.join(m, 'weights.bin'), w.subarray(0, 1000));
  });
  await modelCopy('badjson', async (m) => writeFile(path.join(m, 'metadata.json'), '{ not json'));
  // A finished toy run, to resume and to lock.
  const r = await cli(['train', '--data', p('toy.csv'), '--arch', 'micro', '--epochs', '1', '--batch', '16', '--out', p('run')]);
  if (r.code !== 0) throw new Error(`fixture run failed: ${r.stderr}`);
  await cp(p('run'), p('run2'), { recursive: true });
  await mkdir(p('locked'));
  await writeFile(p('locked', '.lock'), `${process.pid}\n`);
}, 120_000);

afterAll(async () => {
  await rm(d, { recursive: true, force: true });
});

interface Case {
  /** What goes wrong. */
  name: string;
  args: () => string[];
  code: number;
  /** The one "emodetect:" line (errors), or a pattern the output must show (exit 0). */
  line?: RegExp;
  /** More checks on the run (files left alone, results kept). */
  check?: (r: Run) => Promise<void> | void;
}

const untouched = (file: string, size?: number) => async () => {
  const s = await lstat(file);
  if (size !== undefined) expect(s.size).toBe(size);
};

const CASES: Case[] = [
  // The command line itself.
  {
    name: 'no command: the help goes to stderr',
    args: () => [],
    code: 2,
    check: (r) => expect([r.stdout, r.stderr]).toEqual(['', expect.stringMatching(/Usage: emodetect <command>/)]),
  },
  { name: '--version', args: () => ['--version'], code: 0, line: /^emodetect \d+\.\d+\.\d+\n$/ },
  { name: 'an unknown command', args: () => ['fit'], code: 2, line: /unknown command "fit"/ },
  // train: options.
  { name: 'train without --data', args: () => ['train'], code: 2, line: /train: --data <csv\|csv.gz\|folder> is required/ },
  {
    name: 'train with an unknown option',
    args: () => ['train', '--data', 'x', '--frobnicate'],
    code: 2,
    line: /Unknown option '--frobnicate'/,
  },
  { name: 'train --arch huge', args: () => ['train', '--data', 'x', '--arch', 'huge'], code: 2, line: /--arch must be one of micro, tiny/ },
  {
    name: 'train --epochs 0',
    args: () => ['train', '--data', 'x', '--epochs', '0'],
    code: 2,
    line: /--epochs must be an integer >= 1 \(got "0"\)/,
  },
  { name: 'train --epochs 1.5', args: () => ['train', '--data', 'x', '--epochs', '1.5'], code: 2, line: /--epochs must be an integer/ },
  {
    name: 'train --lr -1 (negative value)',
    args: () => ['train', '--data', 'x', '--lr', '-1'],
    code: 2,
    line: /--lr must be a number in 1e-7..1 \(got "-1"\)/,
  },
  { name: 'train --lr abc', args: () => ['train', '--data', 'x', '--lr', 'abc'], code: 2, line: /--lr must be a number/ },
  { name: 'train --batch 0', args: () => ['train', '--data', 'x', '--batch', '0'], code: 2, line: /--batch must be an integer >= 1/ },
  {
    name: 'train --label-smoothing 0.9',
    args: () => ['train', '--data', 'x', '--label-smoothing', '0.9'],
    code: 2,
    line: /--label-smoothing must be a number in 0..0.5/,
  },
  {
    name: 'train --schedule step',
    args: () => ['train', '--data', 'x', '--schedule', 'step'],
    code: 2,
    line: /--schedule must be one of cosine, constant/,
  },
  {
    name: 'train --class-weights x',
    args: () => ['train', '--data', 'x', '--class-weights', 'x'],
    code: 2,
    line: /--class-weights must be one of none, balanced/,
  },
  { name: 'train --workers 0', args: () => ['train', '--data', 'x', '--workers', '0'], code: 2, line: /--workers must be an integer >= 1/ },
  {
    name: 'train --precision fp16',
    args: () => ['train', '--data', 'x', '--precision', 'fp16'],
    code: 2,
    line: /--precision must be one of fp32, bf16/,
  },
  {
    name: 'train --augment strong',
    args: () => ['train', '--data', 'x', '--augment', 'strong'],
    code: 2,
    line: /--augment must be one of default, detector, robust, none/,
  },
  {
    name: 'train --ferplus-mode x',
    args: () => ['train', '--data', 'x', '--ferplus-mode', 'x'],
    code: 2,
    line: /--ferplus-mode must be one of majority, soft/,
  },
  {
    name: 'train --teacher-weight without --teacher',
    args: () => ['train', '--data', 'x', '--teacher-weight', '0.5'],
    code: 2,
    line: /--teacher-weight needs --teacher/,
  },
  {
    name: 'train --teacher-online without --teacher',
    args: () => ['train', '--data', 'x', '--teacher-online'],
    code: 2,
    line: /--teacher-online needs --teacher/,
  },
  {
    name: 'train --teacher-weight 2',
    args: () => ['train', '--data', 'x', '--teacher', 'm', '--teacher-weight', '2'],
    code: 2,
    line: /--teacher-weight must be a number in 0..1/,
  },
  {
    name: 'train --resume with --init',
    args: () => ['train', '--data', 'x', '--resume', '--init', 'm'],
    code: 2,
    line: /--init and --resume exclude each other/,
  },
  // train: data.
  {
    name: 'train on a missing file',
    args: () => ['train', '--data', p('nope.csv'), '--out', p('o1')],
    code: 1,
    line: /nope\.csv: not found/,
  },
  {
    name: 'train on an empty file',
    args: () => ['train', '--data', p('empty.csv'), '--out', p('o2')],
    code: 1,
    line: /empty\.csv: empty file/,
  },
  {
    name: 'train on a CSV without the FER2013 header',
    args: () => ['train', '--data', p('header.csv'), '--out', p('o3')],
    code: 1,
    line: /header\.csv: line 1 is not a FER2013 header/,
  },
  {
    name: 'train on a CSV with a short row',
    args: () => ['train', '--data', p('badrow.csv'), '--out', p('o4')],
    code: 1,
    line: /badrow\.csv: row 3 \(line 5\): has 100 pixel values/,
  },
  {
    name: 'train --ferplus on a missing file',
    args: () => ['train', '--data', p('toy.csv'), '--ferplus', p('nope-fp.csv'), '--out', p('o5')],
    code: 1,
    line: /nope-fp\.csv/,
  },
  {
    name: 'train on an image folder with an empty class folder',
    args: () => ['train', '--data', p('folder'), '--out', p('o6')],
    code: 1,
    line: /train\/angry: class folder holds no images/,
  },
  // train: the run folder.
  {
    name: 'train --out is a file',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('a-file')],
    code: 2,
    line: /--out .*a-file is a file/,
    check: untouched(p('a-file'), 12),
  },
  {
    name: 'train --out holds other files',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('full')],
    code: 2,
    line: /--out .*full already holds files \(notes\.txt\)/,
    check: untouched(p('full', 'notes.txt'), 4),
  },
  {
    name: 'train --out inside the data folder',
    args: () => ['train', '--data', p('folder'), '--out', p('folder', 'run')],
    code: 2,
    line: /is inside the input folder/,
  },
  {
    name: 'train --out holds a run, without --resume',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('run')],
    code: 2,
    line: /already holds a run; add --resume/,
  },
  {
    name: 'train --resume where there is no run',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('o7'), '--resume'],
    code: 2,
    line: /--resume: .* not found \(no checkpoint/,
  },
  {
    name: 'train --resume with another --lr',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('run'), '--resume', '--lr', '0.01'],
    code: 2,
    line: /started with --lr 0\.001; a resumed run keeps its settings/,
  },
  {
    name: 'train --resume with another --arch',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('run2'), '--resume', '--arch', 'small'],
    code: 2,
    line: /started with --arch micro/,
  },
  {
    name: 'train into a folder another run holds',
    args: () => ['train', '--data', p('toy.csv'), '--out', p('locked')],
    code: 2,
    line: /locked is in use by another run \(process \d+\)/,
  },
  {
    name: 'train --init a missing model',
    args: () => ['train', '--data', p('toy.csv'), '--init', p('nope'), '--out', p('o8')],
    code: 2,
    line: /--init .*nope: model folder not found/,
  },
  {
    name: 'train --init a model of another architecture',
    args: () => ['train', '--data', p('toy.csv'), '--arch', 'micro', '--init', p('model'), '--out', p('o9')],
    code: 2,
    line: /--init .*its architecture is small, not --arch micro/,
  },
  {
    name: 'train --teacher with labels that do not match its outputs',
    args: () => ['train', '--data', p('toy.csv'), '--teacher', p('five-labels'), '--out', p('o10')],
    code: 2,
    line: /--teacher .*names 5 labels but the network has 7 outputs/,
  },
  {
    name: 'train --precision bf16 on wasm',
    args: () => ['train', '--data', p('toy.csv'), '--backend', 'wasm', '--precision', 'bf16', '--out', p('o11')],
    code: 2,
    line: /--precision applies to the native backend only/,
  },
  {
    name: 'train --teacher-online on wasm',
    args: () => [
      'train',
      '--data',
      p('toy.csv'),
      '--backend',
      'wasm',
      '--teacher',
      p('five-labels'),
      '--teacher-online',
      '--out',
      p('o12'),
    ],
    code: 2,
    line: /--teacher-online needs the native backend/,
  },
  // eval.
  { name: 'eval without --data', args: () => ['eval'], code: 2, line: /eval: --data <csv\|csv.gz\|folder> is required/ },
  {
    name: 'eval --backend bogus',
    args: () => ['eval', '--data', 'x', '--backend', 'bogus'],
    code: 2,
    line: /--backend must be one of native/,
  },
  {
    name: 'eval --tta sideways',
    args: () => ['eval', '--data', p('toy.csv'), '--model', p('model'), '--tta', 'sideways'],
    code: 2,
    line: /--tta must be one of none, flip, views/,
  },
  {
    name: 'eval a missing model',
    args: () => ['eval', '--model', p('nope'), '--data', p('toy.csv')],
    code: 1,
    line: /nope: model folder not found/,
  },
  {
    name: 'eval a model with 5 labels for 7 outputs',
    args: () => ['eval', '--model', p('five-labels'), '--data', p('toy.csv')],
    code: 1,
    line: /five-labels: metadata\.json names 5 labels but the network has 7 outputs/,
  },
  {
    name: 'eval a model whose weights path leaves its folder',
    args: () => ['eval', '--model', p('escape'), '--data', p('toy.csv')],
    code: 1,
    line: /weight path "\.\.\/\.\.\/\.\.\/\.\.\/etc\/passwd" leaves the model folder/,
  },
  {
    name: 'eval a model with truncated weights',
    args: () => ['eval', '--model', p('truncated'), '--data', p('toy.csv')],
    code: 1,
    line: /weights are 1000 bytes but model\.json describes/,
  },
  {
    name: 'eval a model whose metadata is not JSON',
    args: () => ['eval', '--model', p('badjson'), '--data', p('toy.csv')],
    code: 1,
    line: /metadata\.json: not valid JSON/,
  },
  {
    name: 'eval on a missing file',
    args: () => ['eval', '--model', p('model'), '--data', p('nope.csv')],
    code: 1,
    line: /nope\.csv: not found/,
  },
  // detect: options.
  { name: 'detect without input', args: () => ['detect'], code: 2, line: /detect: name at least one image/ },
  { name: 'detect --json and --csv', args: () => ['detect', 'x.png', '--json', '--csv'], code: 2, line: /choose one of --json and --csv/ },
  {
    name: 'detect --tiles -1',
    args: () => ['detect', 'x.png', '--tiles', '-1'],
    code: 2,
    line: /--tiles must be an integer >= 0 \(got "-1"\)/,
  },
  {
    name: 'detect --max-faces 0',
    args: () => ['detect', 'x.png', '--max-faces', '0'],
    code: 2,
    line: /--max-faces must be an integer >= 1/,
  },
  {
    name: 'detect --min-score 2',
    args: () => ['detect', 'x.png', '--min-score', '2'],
    code: 2,
    line: /--min-score must be a number in 0.3..1/,
  },
  { name: 'detect --refine maybe', args: () => ['detect', 'x.png', '--refine', 'maybe'], code: 2, line: /--refine must be one of on, off/ },
  { name: 'detect --fps 0', args: () => ['detect', 'x.png', '--fps', '0'], code: 2, line: /--fps must be a number in 0.01..240/ },
  {
    name: 'detect --overwrite without --annotate',
    args: () => ['detect', p('imgs'), '--overwrite'],
    code: 2,
    line: /--overwrite applies to --annotate only/,
  },
  // detect: inputs (reported once, by name).
  { name: 'detect a missing file', args: () => ['detect', p('nope.png')], code: 1, line: /nope\.png: not found$/ },
  { name: 'detect a symbolic link loop', args: () => ['detect', p('loop1')], code: 1, line: /loop1: too many symbolic links/ },
  { name: 'detect a glob that matches nothing', args: () => ['detect', p('*.webp')], code: 1, line: /\*\.webp: no file matches/ },
  { name: 'detect a folder without images', args: () => ['detect', p('noimages')], code: 1, line: /noimages: no images in this folder/ },
  {
    name: 'detect a text file named .png',
    args: () => ['detect', p('text.png')],
    code: 1,
    check: (r) => expect(r.stderr).toMatch(/text\.png: not a supported image/),
  },
  {
    name: 'detect an empty file',
    args: () => ['detect', p('empty.png')],
    code: 1,
    check: (r) => expect(r.stderr).toMatch(/empty\.png: empty file/),
  },
  {
    name: 'detect a truncated PNG',
    args: () => ['detect', p('trunc.png')],
    code: 1,
    check: (r) => expect(r.stderr).toMatch(/trunc\.png: (corrupt|not a supported)/),
  },
  {
    name: 'detect a TIFF bomb',
    args: () => ['detect', p('bomb.tif')],
    code: 1,
    check: (r) => expect(r.stderr).toMatch(/bomb\.tif: image is 20000x20000, larger than the 50 megapixel limit/),
  },
  {
    name: 'detect a good and a bad file: the good one is reported, the exit status is 1',
    args: () => ['detect', p('imgs', 'gray.png'), p('bomb.tif'), '--json'],
    code: 1,
    check: (r) => {
      const files = (JSON.parse(r.stdout) as { files: { file: string; error?: string }[] }).files;
      expect(files.map((f) => path.basename(f.file))).toEqual(['gray.png', 'bomb.tif']);
      expect(files[0].error).toBeUndefined();
      expect(files[1].error).toMatch(/megapixel/);
    },
  },
  {
    name: 'detect a model with 5 labels for 7 outputs',
    args: () => ['detect', p('imgs'), '--model', p('five-labels')],
    code: 1,
    line: /names 5 labels but the network has 7 outputs/,
  },
  // detect --annotate: the output rule.
  {
    name: 'detect --annotate into the input folder',
    args: () => ['detect', p('imgs'), '--annotate', p('imgs')],
    code: 2,
    line: /gray\.png is inside the input folder/,
    check: untouched(p('imgs', 'gray.png')),
  },
  {
    name: 'detect --annotate below the input folder',
    args: () => ['detect', p('imgs'), '--annotate', p('imgs', 'out')],
    code: 2,
    line: /is inside the input folder/,
  },
  {
    name: 'detect --annotate over an input file',
    args: () => ['detect', p('a', 'x.png'), '--annotate', p('a')],
    code: 2,
    line: /x\.png is an input/,
  },
  {
    name: 'detect --annotate over an existing file',
    args: () => ['detect', p('imgs'), '--annotate', p('annotated')],
    code: 2,
    line: /gray\.png already exists; add --overwrite/,
  },
  {
    name: 'detect --annotate --overwrite replaces it',
    args: () => ['detect', p('imgs'), '--annotate', p('annotated'), '--overwrite'],
    code: 0,
    line: /1 of 1 files processed/,
  },
  {
    name: 'detect --annotate with two inputs of one name keeps both',
    args: () => ['detect', p('a', 'x.png'), p('b', 'x.png'), '--annotate', p('two')],
    code: 0,
    check: async () =>
      expect((await readdir(p('two'), { recursive: true })).sort()).toEqual(['a', path.join('a', 'x.png'), 'b', path.join('b', 'x.png')]),
  },
  {
    name: 'detect --annotate where nothing can be written keeps the results',
    args: () => ['detect', p('imgs', 'gray.png'), '--annotate', '/proc/emodetect-x', '--json'],
    code: 1,
    check: (r) => {
      expect(r.stderr).toMatch(/\/proc\/emodetect-x.*: cannot write/);
      expect((JSON.parse(r.stdout) as { files: { faces: unknown[] }[] }).files[0].faces).toEqual([]);
    },
  },
  {
    name: 'detect --csv quotes a file name with a quote and a comma (RFC 4180)',
    args: () => ['detect', p('quote"d,name.png'), '--csv'],
    code: 0,
    check: (r) => {
      const lines = r.stdout.trim().split('\n');
      expect(lines[0]).toMatch(/^file,frame,time,face,x,y/);
      expect(lines).toHaveLength(2);
      expect(lines[1].startsWith(`"${p('quote""d,name.png')}",,,0,`)).toBe(true);
      expect(lines[1].split(',').length).toBe(lines[0].split(',').length + 1);
    },
  },
  // export.
  { name: 'export without --out', args: () => ['export'], code: 2, line: /export: --out <dir> is required/ },
  {
    name: 'export --quantize int4',
    args: () => ['export', '--out', p('e0'), '--quantize', 'int4'],
    code: 2,
    line: /--quantize must be one of/,
  },
  {
    name: 'export over a folder of the user',
    args: () => ['export', '--out', p('full')],
    code: 2,
    line: /--out .*full already exists; add --overwrite/,
    check: untouched(p('full', 'notes.txt'), 4),
  },
  {
    name: 'export --overwrite over a folder of the user',
    args: () => ['export', '--out', p('full'), '--overwrite'],
    code: 2,
    line: /holds files this command did not write; it is left alone/,
    check: untouched(p('full', 'notes.txt'), 4),
  },
  {
    name: 'export over a file',
    args: () => ['export', '--out', p('a-file'), '--overwrite'],
    code: 2,
    line: /a-file exists and is not a folder/,
    check: untouched(p('a-file'), 12),
  },
  {
    name: 'export onto its own model folder',
    args: () => ['export', '--model', p('model'), '--out', p('model')],
    code: 2,
    line: /--out .*model is an input/,
    check: untouched(p('model', 'MODEL_CARD.md')),
  },
  {
    name: 'export inside its model folder',
    args: () => ['export', '--model', p('model'), '--out', p('model', 'q')],
    code: 2,
    line: /is inside the input folder/,
  },
  {
    name: 'export onto a folder that holds the model',
    args: () => ['export', '--model', p('model'), '--out', d],
    code: 2,
    line: /holds the input/,
    check: untouched(p('model', 'weights.bin')),
  },
  {
    name: 'export a model with 5 labels for 7 outputs',
    args: () => ['export', '--model', p('five-labels'), '--out', p('e1')],
    code: 1,
    line: /names 5 labels but the network has 7 outputs/,
  },
  {
    name: 'export where nothing can be written',
    args: () => ['export', '--model', p('model'), '--out', '/proc/emodetect-x'],
    code: 1,
    line: /\/proc\/emodetect-x: cannot write/,
  },
];

/** At most two CLI processes at once (the machine has two cores). */
let running = 0;
const waiting: (() => void)[] = [];
async function limited<T>(f: () => Promise<T>): Promise<T> {
  while (running >= 2) await new Promise<void>((resolve) => waiting.push(resolve));
  running++;
  try {
    return await f();
  } finally {
    running--;
    waiting.shift()?.();
  }
}

describe('bad input and faults: one line, the right exit status, no file harmed', () => {
  it('has at least 60 cases', () => expect(CASES.length).toBeGreaterThanOrEqual(60));
  // Concurrent cases, two processes at a time (see limited).
  describe.concurrent.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    it('exits as stated', async () => {
      const r = await limited(() => cli(c.args()));
      expect(r.code, r.stderr).toBe(c.code);
      expect(r.stderr).not.toMatch(/internal error|^\s+at /m);
      if (c.line && c.code !== 0) expectOneLineError(r, c.line);
      if (c.line && c.code === 0) expect(r.stderr + r.stdout).toMatch(c.line);
      await c.check?.(r);
    }, 120_000);
  });
});
