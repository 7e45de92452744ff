import type { Anchor, Engine, PlacementMode, SpatialMethod, Stage } from '../../protocol/project';
import type { Rect } from '../core/geometry';
import type { AlignCache } from '../core/lru';
import type { ProbeInfo } from '../media/probe';
import type { ForeignMask } from './descriptors/foreign';
import type { Described, DescriptorKind } from './descriptors/types';
import type { Placement } from './spatial/search';
import type { AudioPrior } from './temporal/audio';

export interface SpatialOptions {
  /** Manual spatial override, in bg pixels (x, y of fg's top-left corner) and scale. */
  x?: number;
  y?: number;
  scale?: number;
  /** Only consider scale 1 (fg is a crop of bg at the same resolution). */
  unscaled?: boolean;
  /** fg's samples flipped left to right: only to tell a mirrored fg when fg was not found (daemon/align.ts). */
  mirror?: boolean;
  signal?: AbortSignal;
  onProgress?: (stage: Stage, fraction: number) => void;
}

export interface AlignOptions extends SpatialOptions {
  engine?: Engine;
  /** The frame descriptor (default: pixels; the fast engine always uses hashes). */
  descriptor?: DescriptorKind;
  /** Use both videos' sound to narrow the search (default: on when both have audio). */
  audioPrior?: boolean;
  /**
   * Memory kept between alignments of the same videos (the daemon's): a placement already verified
   * on time-matched frames, the analysis frames and their descriptors. With it, changing an option
   * that does not move fg re-aligns without decoding.
   */
  cache?: AlignCache;
  /** Where fg sits over time (default auto: tracked only when one fixed placement does not explain fg). */
  placement?: PlacementMode;
  /** Fine search band half-width, bg frames. */
  window?: number;
  /**
   * Manual sync points (with `bg`: the map passes through them) and placement pins (with `x`, `y`:
   * fg's frame corner at that fg time, spatial/pins.ts), in seconds from each video's start.
   */
  anchors?: Anchor[];
  /**
   * Called once with the first whole map (the first temporal pass, before refinement), so an
   * editor can show a provisional result long before the alignment ends.
   */
  onFirstMap?: (map: FirstMap) => void;
}

/** The first whole map of an alignment still running: provisional, refined and replaced by the result. */
export interface FirstMap {
  bgFrameForFg: number[];
  /** bg's presentation time of each mapped frame, seconds. */
  bgTimeForFg: number[];
  confidence: number[];
  /** fg's frame corner in bg (bg pixels) and scale, as placed before refinement. */
  spatial: { x: number; y: number; scale: number; confidence: number };
  /** fg's picture without letterbox bars, in fg pixels. */
  contentRect: Rect;
}

/** Where fg's content sits in bg, as the spatial step found it (or was told). */
export interface Located {
  bg: ProbeInfo;
  fg: ProbeInfo;
  /** fg's picture without letterbox bars, in fg pixels. */
  content: Rect;
  /** Where fg's content (not its frame) sits in bg. */
  placement: Placement;
  method: SpatialMethod;
  /** Coarse search size as a fraction of bg's. */
  c: number;
  /**
   * Keyframes' times (seconds, ascending) of each video whose spatial samples were keyframes (some
   * of them where keyframes are closer than the samples): where a seek starts decoding, so frames
   * read by seeking are chosen just after one (spatial/joint.ts).
   */
  keys?: { bg?: number[]; fg?: number[] };
  /** Other basins of the coarse search, unrefined (spatial/search.ts CoarseHit.others). */
  others?: Placement[];
  /**
   * The placements fg's samples agree on (spatial/search.ts consensusSearch), unrefined: costly,
   * so computed only when asked; not kept in the cache.
   */
  consensus?: () => Placement[];
}

/** One alignment's state, passed whole to each step rather than as a dozen parameters. */
export interface AlignContext {
  loc: Located;
  engine: Engine;
  kind: DescriptorKind;
  o: AlignOptions;
  /** Cache identities of the two videos (path, size, mtime; the bare paths without a cache). */
  ids: { fg: string; bg: string };
  audio: Promise<AudioPrior | undefined>;
  /** Descriptions started before the placement was known, by cache key (see align.ts). */
  early: Map<string, Promise<Described>>;
  /**
   * The full-size frames the latest joint refinement read, by video and time (spatial/joint.ts):
   * the next one, on a placement tried over time or a later pass, often asks for the same.
   */
  seen?: Map<string, Uint8Array>;
}

/** The regions one analysis pass compares, and what it found in them. */
export interface Pass {
  bgRect: Rect;
  fgRect: Rect;
  fgF: Described;
  bgF: Described;
  /** fg's burnt-in graphics, left out of the matches (descriptors/foreign.ts). */
  foreign?: ForeignMask;
}
