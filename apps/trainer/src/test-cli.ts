/** Helpers for the CLI's end-to-end tests: run `emodetect` as a user would, check its errors. */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { expect } from 'vitest';
import { REPO_ROOT } from '../../../tools/test-data.ts';

const BIN = path.join(REPO_ROOT, 'apps/trainer/bin/emodetect.mjs');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Run the CLI from the repository root; `onStderr` may kill it (returns true to send SIGKILL). */
export function cli(args: string[], onStderr?: (text: string) => boolean, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, env: { ...process.env, EMODETECT_PROGRESS: 'json', ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => {
      stderr += d;
      if (onStderr?.(stderr)) child.kill('SIGKILL');
    });
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The user-facing error output: exactly one line starting with "emodetect:", no stack trace. */
export function expectOneLineError(r: Run, pattern: RegExp): void {
  const lines = r.stderr
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('emodetect:'));
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}
