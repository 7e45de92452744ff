import type { ErrorObject } from 'ajv';
import { VidkompyError } from '../core/errors';
import { assertFinite } from '../core/finite';
import { layoutJson } from './json';

/**
 * The text of an alignment file, written only once the value passes the file's schema (and holds no
 * non-finite number, which JSON cannot carry): a result that does not is a fault upstream, and no
 * file is better than one the next read refuses or misreads.
 */
export function checkedJson(value: unknown, what: string, validate: (v: unknown) => ErrorObject[], schema: string): string {
  assertFinite(value, what);
  const text = layoutJson(value);
  const errors = validate(JSON.parse(text));
  if (errors.length) {
    const e = errors[0];
    throw new VidkompyError('INTERNAL', `${what}: not written: ${e.instancePath || '/'} ${e.message} (schemas/${schema}); please report it`);
  }
  return text;
}
