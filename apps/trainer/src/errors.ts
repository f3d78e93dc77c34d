/** Errors the CLI reports as one line (no stack trace) with a non-zero exit status. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** Error classes from the libraries whose messages are written for users. */
const USER_ERRORS = new Set(['UsageError', 'DataError', 'ModelLoadError', 'MetadataError', 'BackendError', 'UserError']);

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && USER_ERRORS.has(e.name);
}

/** One line for any error; a stack trace only with EMODETECT_DEBUG=1. */
export function formatError(e: unknown): string {
  if (process.env.EMODETECT_DEBUG && e instanceof Error && e.stack) return e.stack;
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0].trim() || String(e);
  return isUserError(e) ? first : `${first} (internal error; EMODETECT_DEBUG=1 shows the stack trace)`;
}
