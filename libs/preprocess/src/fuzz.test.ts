import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = path.dirname(fileURLToPath(import.meta.url));
/** Resident memory the fuzz process may reach (its decoder thread's heap is capped at 384 MB). */
const RSS_CAP_MB = 2048;

describe('image decoders under corrupt input', () => {
  it('refuse truncated, bit-flipped and oversized PNG, JPEG, BMP, TIFF and GIF files one by one: no crash, no hang, bounded memory', async () => {
    // A child process: a decoder that hung or ran away with memory ends it, not the test runner.
    const child = spawn(process.execPath, ['--import', 'tsx', path.join(HERE, 'fuzz-decoders.ts'), '150', '20261130'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 240_000);
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    clearTimeout(timer);
    expect(code, `fuzz process ended with ${code}: ${err.slice(-2000)}`).toBe(0);
    // stdout holds exactly the summary: decoders' own console output is kept off it.
    const lines = out.trim().split('\n');
    expect(lines, out.slice(0, 2000)).toHaveLength(1);
    const r = JSON.parse(lines[0]) as {
      cases: number;
      decoded: number;
      refused: number;
      failures: string[];
      peakRssMb: number;
      peakCase: string;
    };
    expect(r.failures).toEqual([]);
    expect(r.cases).toBe(750);
    expect(r.decoded + r.refused).toBe(750);
    // Both outcomes occur: the mutations reach the decoders, and some files survive them.
    expect(r.refused).toBeGreaterThan(100);
    expect(r.decoded).toBeGreaterThan(100);
    expect(r.peakRssMb, `peak at ${r.peakCase}`).toBeLessThan(RSS_CAP_MB);
  }, 300_000);
});
