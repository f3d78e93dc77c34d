/**
 * Where the CLI may write: one rule, in one place, for every file and folder a command writes.
 *
 * - An output is never an input and never inside a folder given as input; a folder output (which
 *   is replaced as a whole) never holds an input.
 * - No two outputs of one command share a path.
 * - An existing file or folder is never written over unless `--overwrite` says so; even then, a
 *   folder is replaced only when it holds what the command writes (for example a model folder),
 *   so `export --out ~/photos --overwrite` still leaves the photos alone.
 * - Every write goes to a temporary sibling first and is renamed into place, so a crash leaves the
 *   old file or the new one, never half of one; a failed write removes its temporary.
 */
import { promises as fs, readFileSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { writeAtomically as writeFileAtomically } from '@emodetect/model/node';
import { UsageError } from './errors.ts';

/** The real path of `p`, following links in whatever part of it exists. */
async function realish(p: string): Promise<string> {
  const abs = path.resolve(p);
  const missing: string[] = [];
  let cur = abs;
  for (;;) {
    try {
      return path.join(await fs.realpath(cur), ...missing.reverse());
    } catch {
      const parent = path.dirname(cur);
      if (parent === cur) return abs;
      missing.push(path.basename(cur));
      cur = parent;
    }
  }
}

const inside = (child: string, parent: string) => {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
};

export interface OutputRules {
  /** The command, for messages ("export"). */
  command: string;
  /** Files and folders the command reads: never written, never written into. */
  inputs: readonly string[];
  /** `--overwrite`: existing outputs may be replaced. */
  overwrite: boolean;
}

/** The outputs one command run claims before it writes anything. */
export class Outputs {
  private readonly claimed = new Map<string, string>();
  private inputs: { given: string; real: string; dir: boolean }[] | null = null;

  constructor(private readonly rules: OutputRules) {}

  private async inputPaths() {
    this.inputs ??= await Promise.all(
      this.rules.inputs.map(async (given) => {
        const real = await realish(given);
        const stat = await fs.stat(real).catch(() => null);
        return { given, real, dir: Boolean(stat?.isDirectory()) };
      }),
    );
    return this.inputs;
  }

  /**
   * The real path of `target` after checking that it is no input, not inside an input folder and,
   * for a folder output (`holds`), holds no input; a one-line UsageError otherwise.
   */
  async outsideInputs(target: string, what: string, holds: boolean): Promise<string> {
    const cmd = this.rules.command;
    const real = await realish(target);
    for (const input of await this.inputPaths()) {
      if (real === input.real) throw new UsageError(`${cmd}: ${what} ${target} is an input; choose another path`);
      if (input.dir && inside(real, input.real))
        throw new UsageError(`${cmd}: ${what} ${target} is inside the input folder ${input.given}; choose a path outside it`);
      if (holds && inside(input.real, real))
        throw new UsageError(`${cmd}: ${what} ${target} holds the input ${input.given}; choose another path`);
    }
    return real;
  }

  /**
   * Check `target` as an output named `what` (e.g. "--out"), before anything is written. `kind`:
   * a file, or a folder that is replaced as a whole (`accept` says whether an existing folder holds
   * what this command writes). Throws a one-line UsageError when the rule forbids it.
   */
  async claim(
    target: string,
    what: string,
    kind: { file: true } | { folder: true; accept: (names: string[]) => boolean },
  ): Promise<string> {
    const cmd = this.rules.command;
    const real = await this.outsideInputs(target, what, 'folder' in kind);
    const earlier = this.claimed.get(real);
    if (earlier) throw new UsageError(`${cmd}: ${earlier} and ${what} would both write ${target}`);
    const stat = await fs.lstat(real).catch(() => null);
    if (stat) {
      if (!this.rules.overwrite) throw new UsageError(`${cmd}: ${what} ${target} already exists; add --overwrite to replace it`);
      if ('file' in kind && !stat.isFile()) throw new UsageError(`${cmd}: ${what} ${target} exists and is not a file; it is left alone`);
      if ('folder' in kind) {
        if (!stat.isDirectory()) throw new UsageError(`${cmd}: ${what} ${target} exists and is not a folder; it is left alone`);
        if (!kind.accept(await fs.readdir(real)))
          throw new UsageError(`${cmd}: ${what} ${target} holds files this command did not write; it is left alone even with --overwrite`);
      }
    }
    this.claimed.set(real, `${what} ${target}`);
    return real;
  }
}

/**
 * `mkdir -p`, one level at a time. (Node's recursive mkdir never returns for some paths that
 * cannot be made, such as /proc/x: it retries ENOENT forever.)
 */
export async function makeFolder(dir: string): Promise<void> {
  const abs = path.resolve(dir);
  const stat = await fs.stat(abs).catch(() => null);
  if (stat?.isDirectory()) return;
  const parent = path.dirname(abs);
  if (parent !== abs) await makeFolder(parent);
  try {
    await fs.mkdir(abs);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
}

/**
 * Write `target` atomically (see @emodetect/model/node's writeAtomically), making its folder
 * first: on any failure `target` is untouched and no temporary file is left.
 */
export async function writeAtomically(target: string, write: string | ((tmp: string) => Promise<void>)): Promise<void> {
  await makeFolder(path.dirname(target));
  await writeFileAtomically(target, write);
}

/**
 * Output names for per-input files in one folder: the input's base name with `ext` (or its own
 * extension), or, when two inputs would share a name, its path below the inputs' common folder.
 */
export function outputNames(files: readonly string[], ext?: (file: string) => string): Map<string, string> {
  const named = (f: string, rel: string) => {
    const e = ext?.(f) ?? path.extname(f);
    return rel.slice(0, rel.length - path.extname(rel).length) + e;
  };
  const byBase = new Map<string, number>();
  for (const f of files) {
    const n = named(f, path.basename(f));
    byBase.set(n, (byBase.get(n) ?? 0) + 1);
  }
  if ([...byBase.values()].every((c) => c === 1)) return new Map(files.map((f) => [f, named(f, path.basename(f))]));
  const abs = files.map((f) => path.resolve(f));
  let root = path.dirname(abs[0]);
  while (!abs.every((a) => inside(a, root))) root = path.dirname(root);
  return new Map(files.map((f, i) => [f, named(f, path.relative(root, abs[i]))]));
}

/**
 * Hold `<dir>/.lock` while a command writes into `dir` (a run folder): a second command that
 * wants the same folder is refused while the first runs. A lock left by a process that no longer
 * exists (killed) is taken over. Returns the release function (also called at exit).
 */
export async function lockFolder(dir: string, command: string): Promise<() => Promise<void>> {
  await makeFolder(dir);
  const file = path.join(dir, '.lock');
  const mine = `${process.pid}\n`;
  for (let attempt = 0; ; attempt++) {
    try {
      await fs.writeFile(file, mine, { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
      const pid = Number((await fs.readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && processExists(pid))
        throw new UsageError(`${command}: ${dir} is in use by another run (process ${pid}); wait for it or choose another --out`);
      await fs.rm(file, { force: true });
    }
  }
  const releaseSync = () => {
    try {
      if (readFileSyncSafe(file) === mine) unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', releaseSync);
  return async () => {
    process.off('exit', releaseSync);
    if ((await fs.readFile(file, 'utf8').catch(() => '')) === mine) await fs.rm(file, { force: true });
  };
}

/** Whether process `pid` is alive: it exists and (on Linux) is not a zombie that was killed. */
function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  const stat = readFileSyncSafe(`/proc/${pid}/stat`);
  return !/^\d+ \(.*\) Z/s.test(stat);
}

function readFileSyncSafe(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}
