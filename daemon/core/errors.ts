/**
 * Every failure a user can cause is a VidkompyError: it names the file involved and says what to do.
 * The CLI prints `message` on one line; the daemon sends `code` and `message` in its error replies.
 */
export type ErrorCode =
  | 'ENOENT'
  | 'NOT_VIDEO'
  | 'NO_VIDEO_STREAM'
  | 'NO_FRAMES'
  | 'DECODE'
  | 'FG_LARGER'
  | 'NOT_FOUND'
  | 'UNWRITABLE'
  | 'BAD_ARGS'
  | 'TOOL_MISSING'
  | 'CANCELLED'
  | 'ENCODE'
  | 'STALE';

export class VidkompyError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly file?: string,
  ) {
    super(message);
    this.name = 'VidkompyError';
  }
}

export function cancelled(): VidkompyError {
  return new VidkompyError('CANCELLED', 'cancelled');
}

export function throwIfAborted(signal?: AbortSignal): void {
  if (signal?.aborted) throw cancelled();
}
