/** What the bench scripts share: percentiles of timings, the machine, the reproducing command. */
import os from 'node:os';

export interface Timing {
  p50: number;
  p95: number;
  max: number;
  n: number;
}

/** p50, p95 and max of `ms` (nearest rank, lower); `ms` is not modified. */
export function timing(ms: readonly number[]): Timing {
  const s = [...ms].sort((a, b) => a - b);
  return { p50: s[Math.floor(0.5 * (s.length - 1))], p95: s[Math.floor(0.95 * (s.length - 1))], max: s[s.length - 1], n: s.length };
}

/** The machine a figure was measured on: cores, CPU model, Node version. */
export function machineDescription(): string {
  return `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'unknown CPU'}, Node ${process.version}`;
}

/** The command that reproduces this run of `nx run bench:<target>`, with the script's own arguments. */
export function benchCommand(target: string): string {
  const args = process.argv.slice(2);
  return `npx nx run bench:${target}${args.length ? ` -- ${args.join(' ')}` : ''}`;
}
