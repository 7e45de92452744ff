import { ErrorCodes, LSPErrorCodes, ResponseError } from 'vscode-languageserver/node';
import { inWordsOf, VidkompyError } from '../core/errors';
import { asToolError } from '../project/filecache';
import type { ErrorData } from '../../protocol/lsp';

/**
 * Any failure as an LSP error reply: cancellations as RequestCancelled, bad input as
 * InvalidParams, other user-fixable failures as RequestFailed, and anything unexpected as
 * InternalError with its stack logged, never thrown out of the daemon.
 */
export function toResponseError(err: unknown, log: (s: string) => void): ResponseError<ErrorData> {
  if (err instanceof ResponseError) return err as ResponseError<ErrorData>;
  const e = asToolError(err);
  if (e instanceof VidkompyError) {
    const code = e.code === 'CANCELLED' ? LSPErrorCodes.RequestCancelled : e.code === 'BAD_ARGS' || e.code === 'ENOENT' ? ErrorCodes.InvalidParams : LSPErrorCodes.RequestFailed;
    return new ResponseError(code, inWordsOf(e, 'editor'), { code: e.code, file: e.file });
  }
  log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return new ResponseError(ErrorCodes.InternalError, `internal error: ${(e as Error)?.message ?? String(e)}; please report it with the daemon's log`, { code: 'INTERNAL' });
}

export function badParams(message: string): VidkompyError {
  return new VidkompyError('BAD_ARGS', message);
}
