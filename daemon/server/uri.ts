import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { badParams } from './errors';

/** Paths travel as file URIs; a plain absolute path is accepted too (handy in scripts and tests). */
export function uriToPath(uri: unknown, what: string): string {
  if (typeof uri !== 'string' || !uri) throw badParams(`${what} must be a file URI (file:///…), got ${JSON.stringify(uri) ?? 'nothing'}`);
  if (uri.startsWith('file:')) {
    try {
      return path.resolve(fileURLToPath(uri));
    } catch (e) {
      throw badParams(`${what} ${uri} is not a valid file URI (${(e as Error).message})`);
    }
  }
  if (path.isAbsolute(uri)) return path.resolve(uri);
  throw badParams(`${what} must be a file URI (file:///…) or an absolute path, got ${JSON.stringify(uri)}`);
}

export const pathToUri = (file: string): string => pathToFileURL(file).href;
