import { frameCorner } from '../core/geometry';
import { round } from '../core/numbers';
import type { FirstMap, Located } from './context';
import { timeOf } from './descriptors/types';
import type { Placement } from './spatial/search';
import type { Matched } from './temporal/match';

/** The first pass's map as AlignOptions.onFirstMap hands it out: plain numbers, rounded as in the result. */
export function firstMap(loc: Located, placement: Placement, matched: Matched): FirstMap {
  const bgF = matched.bgF.seq;
  const map = Array.from(matched.tm.bgFrameForFg);
  const corner = frameCorner(placement, loc.content);
  return {
    bgFrameForFg: map,
    bgTimeForFg: map.map((j) => round(timeOf(bgF, loc.bg, j), 6)),
    confidence: Array.from(matched.tm.confidence, (c) => round(c, 4)),
    spatial: {
      x: round(corner.x, 2),
      y: round(corner.y, 2),
      scale: round(placement.scale, 5),
      confidence: round(Number.isFinite(placement.score) ? placement.score : 1, 4),
    },
    contentRect: loc.content,
  };
}
