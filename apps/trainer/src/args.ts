/** Small, strict option parsing on top of node:util parseArgs, with one-line errors. */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './errors.ts';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parse a command's arguments strictly (node:util parseArgs); any problem becomes a one-line
 * usage error. Positional arguments are refused unless `positionals` is true. (`--help` is
 * handled by the CLI before a command runs.)
 */
export function parseCommand<const T extends Options>(command: string, argv: string[], options: T, positionals = false) {
  const fail = (msg: string) => new UsageError(`${command}: ${msg} (see emodetect ${command} --help)`);
  // A negative number after an option that takes a value is its value (`--lr -1`), which
  // parseArgs would take for an option: join the two so the option's own check explains the range.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const takesValue = a.startsWith('--') && !a.includes('=') && options[a.slice(2)]?.type === 'string';
    if (takesValue && /^-\.?\d/.test(argv[i + 1] ?? '')) args.push(`${a}=${argv[++i]}`);
    else args.push(a);
  }
  let parsed;
  try {
    parsed = parseArgs({ args, strict: true, allowPositionals: true, options });
  } catch (e) {
    throw fail((e as Error).message.split('\n')[0]);
  }
  if (!positionals && parsed.positionals.length) throw fail(`unexpected argument '${parsed.positionals[0]}'`);
  return parsed;
}

export function intOption(command: string, name: string, value: string | undefined, fallback: number, min = 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`${command}: --${name} must be an integer >= ${min} (got "${value}")`);
  return n;
}

export function numberOption(command: string, name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max)
    throw new UsageError(`${command}: --${name} must be a number in ${min}..${max} (got "${value}")`);
  return n;
}

export function choiceOption<T extends string>(
  command: string,
  name: string,
  value: string | undefined,
  choices: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(choices as readonly string[]).includes(value))
    throw new UsageError(`${command}: --${name} must be one of ${choices.join(', ')} (got "${value}")`);
  return value as T;
}
