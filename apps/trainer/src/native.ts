/**
 * The CLI's `--backend native`: training steps and classifier inference in C++ on oneDNN
 * (@emodetect/native), with tfjs (wasm here) still loading, saving and running everything else.
 * `auto` takes native when the library is built and runs the architecture, and says in one line
 * why not otherwise.
 */
import { BACKEND_NAMES, type BackendName } from '@emodetect/backend/node';
import { createModel, useFoldedInference, type EmotionModel } from '@emodetect/model';
import { nativeSpec, nativeStatus, useNativeInference } from '@emodetect/native';
import { UsageError } from './errors.ts';

/** What `--backend` accepts in train, eval and detect. */
export const CLI_BACKENDS = ['native', ...BACKEND_NAMES] as const;
export type CliBackend = (typeof CLI_BACKENDS)[number];

/** The tfjs backend to initialise for a `--backend` choice (native keeps tfjs' best for the rest). */
export function tfjsBackend(b: CliBackend): BackendName {
  return b === 'native' ? 'auto' : b;
}

interface Log {
  info(text: string): void;
}

/**
 * Whether `model` (or, before one exists, a fresh net of `arch`) runs natively for this choice:
 * always for `native` (or a usage error saying why not), for `auto` when it can (else one line).
 */
export function chooseNative(cmd: string, requested: CliBackend, what: { arch?: string; model?: EmotionModel }, log: Log): boolean {
  if (requested !== 'native' && requested !== 'auto') return false;
  const status = nativeStatus();
  let reason = status.reason;
  if (status.available) {
    // Before a model exists, a fresh net of the architecture is read, then freed.
    const probe = what.model ? null : createModel({ arch: what.arch ?? 'small' });
    try {
      nativeSpec((what.model ?? probe!).model);
    } catch (e) {
      reason = (e as Error).message;
    } finally {
      probe?.model.dispose();
    }
  }
  if (!reason) return true;
  if (requested === 'native') throw new UsageError(`${cmd}: --backend native: ${reason}`);
  log.info(`native backend not used: ${reason}`);
  return false;
}

/**
 * Set up the classifier's executor: native when `--backend` asks for it (or `auto` can), else
 * tfjs with batch-norm folded into the convolutions. Returns the line to log.
 */
export function classifierRuntime(cmd: string, requested: CliBackend, m: EmotionModel, log: Log, batchSize = 256): string {
  if (chooseNative(cmd, requested, { model: m }, log)) return `classifier: ${useNativeInference(m, { batchSize }).description}`;
  return useFoldedInference(m) ? 'classifier: tfjs, batch-norm folded into the convolutions' : 'classifier: tfjs';
}
