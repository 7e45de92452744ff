import { robustLine, stretchBounds } from '../../protocol/drift';

/** The robust line lives in protocol/drift.ts, so that the preview fits the drift the same way. */
export { robustLine, stretchBounds };

/** A stretch of a map, fg frames first..end-1, and its robust line: bg frame ≈ slope · fg frame + intercept. */
export interface StretchLine {
  first: number;
  end: number;
  slope: number;
  intercept: number;
}

/** The robust line of each stretch of a map (bg frame per fg frame) between cuts, for stretches of `min` frames or more. */
export function stretchLines(map: Int32Array, cuts: readonly number[], min: number): StretchLine[] {
  const bounds = stretchBounds(map.length, cuts);
  const out: StretchLine[] = [];
  for (let r = 0; r + 1 < bounds.length; r++) {
    const [first, end] = [bounds[r], bounds[r + 1]];
    if (end - first < min) continue;
    const line = robustLine(Int32Array.from({ length: end - first }, (_, i) => first + i), map.subarray(first, end));
    out.push({ first, end, ...line });
  }
  return out;
}
