/** Frames per second and latency percentiles over a sliding window. */
export interface MeterStats {
  fps: number;
  p50: number;
  p95: number;
  frames: number;
}

export interface LatencyMeter {
  /** Record one frame that took `ms` to process, finishing at `now` (ms, default performance.now()). */
  record(ms: number, now?: number): void;
  stats(): MeterStats;
}

export function createMeter(window = 60): LatencyMeter {
  const latencies: number[] = [];
  const ends: number[] = [];
  let frames = 0;
  return {
    record(ms, now = performance.now()) {
      frames++;
      latencies.push(ms);
      ends.push(now);
      if (latencies.length > window) {
        latencies.shift();
        ends.shift();
      }
    },
    stats() {
      const sorted = [...latencies].sort((a, b) => a - b);
      const q = (p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : 0);
      const span = ends.length > 1 ? ends[ends.length - 1] - ends[0] : 0;
      return { fps: span > 0 ? ((ends.length - 1) * 1000) / span : 0, p50: q(0.5), p95: q(0.95), frames };
    },
  };
}
