import { LSPErrorCodes, ResponseError } from 'vscode-languageclient/node';
import type { ErrorCode } from '../protocol/errors';
import type { ErrorData } from '../protocol/lsp';

/**
 * Daemon errors as the user reads them: the daemon's message already names the file and the fix
 * (its `data` carries the VidkompyError code), so the extension passes it on as it is.
 */

export function errorMessage(e: unknown): string {
  if (e instanceof ResponseError) return String(e.message);
  if (e instanceof Error) return e.message;
  return String(e);
}

/** The VidkompyError code of a daemon error reply (ENOENT, NOT_VIDEO, STALE, …), if it has one. */
export function errorCode(e: unknown): ErrorCode | undefined {
  return e instanceof ResponseError ? (e.data as ErrorData | undefined)?.code : undefined;
}

/** The request was cancelled (by the user, `vidkompy/cancel`, or a restart of the daemon). */
export function isCancellation(e: unknown): boolean {
  return (e instanceof ResponseError && e.code === LSPErrorCodes.RequestCancelled) || errorCode(e) === 'CANCELLED';
}
