/** Small, strict option parsing on top of node:util parseArgs, with one-line errors. */
import { UsageError } from './errors.ts';

/** Run a node:util parseArgs call, turning its errors into one-line usage errors. */
export function parse<R>(command: string, run: () => R): R {
  try {
    return run();
  } catch (e) {
    throw new UsageError(`${command}: ${(e as Error).message.split('\n')[0]} (see emodetect ${command} --help)`);
  }
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
