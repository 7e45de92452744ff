import { VidkompyError } from './errors';

/**
 * Every number in an alignment must be finite: JSON has no NaN or Infinity, so one would be
 * written as a literal `NaN` (in arrays) or silently as `null` (elsewhere), and the file would be
 * refused, or worse, misread, when it is used. A non-finite number is always a fault upstream (a
 * corrupt cache, a model that outputs NaN): better no file than a wrong one.
 */

/** Where the first non-finite number in `value` is (`temporal.confidence[3]`), if there is one. */
export function firstNonFinite(value: unknown): { path: string; value: number } | undefined {
  // Iterative, depth first: an alignment has arrays of one entry per frame, and a recursive walk
  // of an untrusted structure could overflow the stack.
  const stack: [unknown, string][] = [[value, '']];
  while (stack.length) {
    const [v, at] = stack.pop()!;
    if (typeof v === 'number') {
      if (!Number.isFinite(v)) return { path: at || '(the value)', value: v };
    } else if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push([v[i], `${at}[${i}]`]);
    } else if (v && typeof v === 'object') {
      const entries = Object.entries(v);
      for (let i = entries.length - 1; i >= 0; i--) stack.push([entries[i][1], at ? `${at}.${entries[i][0]}` : entries[i][0]]);
    }
  }
  return undefined;
}

/** Refuses `value` when any number in it is NaN or infinite; `what` names it (a file, "the alignment"). */
export function assertFinite(value: unknown, what: string): void {
  const bad = firstNonFinite(value);
  if (!bad) return;
  const fix = 'align again, and if it repeats report it (with an ONNX model: check that its output is finite)';
  throw new VidkompyError('BAD_ARGS', `${what}: not written: ${bad.path} is ${bad.value}, not a finite number; ${fix}`);
}
