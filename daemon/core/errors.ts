import { wordFix, type ErrorCode, type Fix, type FrontEnd } from '../../protocol/errors';

export type { ErrorCode, Fix } from '../../protocol/errors';

/**
 * Every failure a user can cause is a VidkompyError: it names the file involved and says what to do.
 * The fix is data when it names an option or a command, so each front end words it its own way:
 * `message` is the CLI's wording (one line on stderr); the daemon sends `inWordsOf(e, 'editor')`.
 */
export class VidkompyError extends Error {
  constructor(
    readonly code: ErrorCode,
    /** The problem, and any fix that names no option (already in words). */
    readonly problem: string,
    readonly file?: string,
    readonly fix?: Fix,
  ) {
    super(worded(problem, fix, 'cli', file));
    this.name = 'VidkompyError';
  }
}

/** The error as one front end should show it. */
export function inWordsOf(e: VidkompyError, front: FrontEnd): string {
  return worded(e.problem, e.fix, front, e.file);
}

function worded(problem: string, fix: Fix | undefined, front: FrontEnd, file?: string): string {
  const said = fix ? wordFix(fix, front, file) : '';
  return said ? `${problem}; ${said}` : problem;
}

/** A path with no file behind it, worded once for every front end. */
export function fileNotFound(file: string): VidkompyError {
  return new VidkompyError('ENOENT', `${file}: file not found; check the path`, file);
}

export function cancelled(): VidkompyError {
  return new VidkompyError('CANCELLED', 'cancelled');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelled();
}
