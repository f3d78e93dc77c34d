/** Errors the CLI reports as one line (no stack trace) with a non-zero exit status. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** An output that could not be written (exit status 1); the message names it and why. */
export class OutputError extends Error {
  override name = 'OutputError';
}

/** Error classes whose messages are written for users. */
const USER_ERRORS = new Set(['UsageError', 'OutputError', 'DataError', 'ModelLoadError', 'MetadataError', 'BackendError']);

/** What the file-system error codes mean, in a user's words. */
const FS_CODES: Record<string, string> = {
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EEXIST: 'already exists',
  ENOENT: 'not found',
  ENOTDIR: 'a part of the path is not a folder',
  EISDIR: 'is a folder',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'disk quota exceeded',
  EROFS: 'read-only file system',
  ELOOP: 'too many symbolic links (a link loop?)',
  ENAMETOOLONG: 'name too long',
  EMFILE: 'too many open files',
  EBUSY: 'busy',
  EXDEV: 'cannot move across file systems',
  EIO: 'input/output error',
};

/** A Node file-system error (it has a code and, usually, the path it concerns). */
function fsError(e: unknown): (Error & { code: string; path?: string; dest?: string; syscall?: string }) | null {
  if (!(e instanceof Error)) return null;
  const code = (e as NodeJS.ErrnoException).code;
  return typeof code === 'string' && code in FS_CODES ? (e as Error & { code: string; syscall?: string }) : null;
}

/** Run `write`; a file-system error becomes one line naming `target` (not a temporary file). */
export async function writingTo<T>(target: string, write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (e) {
    const reason = fsReason(e);
    if (reason) throw new OutputError(`${target}: cannot write (${reason})`);
    throw e;
  }
}

/** The reason of a file-system error in a user's words ("permission denied"), or null. */
export function fsReason(e: unknown): string | null {
  const f = fsError(e);
  return f ? FS_CODES[f.code] : null;
}

export function isUserError(e: unknown): e is Error {
  return e instanceof Error && (USER_ERRORS.has(e.name) || fsError(e) !== null);
}

/**
 * The one line for a problem with one input or output file, or null when `e` is not such a
 * problem (a bug: let it end the run). `file` names the file when the error does not.
 */
export function fileProblem(e: unknown, file?: string): string | null {
  if (e instanceof Error && e.name === 'DataError') return e.message;
  const f = fsError(e);
  if (!f) return null;
  return `${f.path ?? file ?? 'a file'}: cannot ${f.syscall === 'open' || f.syscall === 'read' || f.syscall === 'scandir' ? 'open' : 'write'} (${FS_CODES[f.code]})`;
}

/** One line for any error; a stack trace only with EMODETECT_DEBUG=1. */
export function formatError(e: unknown): string {
  if (process.env.EMODETECT_DEBUG && e instanceof Error && e.stack) return e.stack;
  const f = fsError(e);
  if (f) return `${f.path ?? 'a file'}${f.dest ? ` → ${f.dest}` : ''}: ${FS_CODES[f.code]} (${f.syscall ?? 'file system'})`;
  const msg = e instanceof Error ? e.message : String(e);
  const first = msg.split('\n')[0].trim() || String(e);
  return isUserError(e) ? first : `${first} (internal error; EMODETECT_DEBUG=1 shows the stack trace)`;
}
