/** Percentiles of timings, shared by the bench scripts. */
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
