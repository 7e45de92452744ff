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
    return new ResponseError(code, editorWords(inWordsOf(e, 'editor')), { code: e.code, file: e.file });
  }
  log(`internal error: ${(e as Error)?.stack ?? String(e)}`);
  return new ResponseError(ErrorCodes.InternalError, `internal error: ${(e as Error)?.message ?? String(e)}; please report it with the daemon's log`, { code: 'INTERNAL' });
}

/**
 * Fixes the engine words in CLI terms without a structured fix (it is not the daemon's to edit):
 * the editor has no flags, so they are said as the project's fields or dropped where the editor
 * has no such choice (a project never renders a cut-short fg).
 */
const CLI_TO_EDITOR: [RegExp, string][] = [
  [/, or --force to render what decodes/g, ''],
  [/choose a writable folder with -o/g, 'choose a writable folder for "output"'],
  [/give a file name with -o/g, 'give a file name in "output"'],
  [/choose another -o/g, 'choose another "output"'],
];

export function editorWords(message: string): string {
  return CLI_TO_EDITOR.reduce((m, [re, to]) => m.replace(re, to), message);
}

export function badParams(message: string): VidkompyError {
  return new VidkompyError('BAD_ARGS', message);
}
