/** Human-oriented logging on stderr (stdout is kept for machine-readable results). */
import { progressBar } from '@emodetect/train/node';

export interface Log {
  info(msg: string): void;
  warn(msg: string): void;
  /** A transient status line on a TTY (fraction 0..1); nothing otherwise. */
  progress(msg: string, fraction: number): void;
}

export function stderrLog(quiet = false): Log {
  const tty = Boolean(process.stderr.isTTY);
  let transient = false;
  let last = 0;
  const clear = () => {
    if (transient) process.stderr.write('\r\x1b[2K');
    transient = false;
  };
  return {
    info(msg) {
      if (quiet) return;
      clear();
      process.stderr.write(`${msg}\n`);
    },
    warn(msg) {
      clear();
      process.stderr.write(`warning: ${msg}\n`);
    },
    progress(msg, fraction) {
      if (!tty || quiet) return;
      const now = Date.now();
      if (now - last < 100 && fraction < 1) return;
      last = now;
      process.stderr.write(`\r\x1b[2K${progressBar(fraction)} ${(100 * fraction).toFixed(0)}% ${msg}`);
      transient = true;
    },
  };
}
