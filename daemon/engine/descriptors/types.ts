import type { Engine, Features, Provider } from '../../../protocol/project';
import type { Rect } from '../../core/geometry';
import type { ProbeInfo } from '../../media/probe';

/**
 * The frame descriptor interface: how a video region becomes one comparable row per frame. Every
 * temporal engine works on descriptors; pixels, perceptual hashes and learned embeddings are kinds
 * of them. A new kind is one file implementing DescriptorKind plus its line in daemon/align.ts.
 */

/** Every frame of one region of a video, grey, at analysis size. */
export interface FeatureSeq {
  /** n frames × (w × h) bytes; empty (w = h = 0) when the kind keeps no grey frames. */
  data: Uint8Array;
  n: number;
  w: number;
  h: number;
  /** Presentation time of each frame in seconds, from the decoder (empty when unknown). */
  times: Float64Array;
}

/**
 * Per-frame descriptors, one unit-norm row per frame: the dot product of two rows is their
 * similarity in [-1, 1] and 1 − dot their cost. Pixels (zero-mean, so dot = NCC), perceptual hashes
 * and learned embeddings all reduce to this.
 */
export interface Descriptors {
  n: number;
  dim: number;
  v: Float32Array;
}

/** What the temporal engines compare: fine descriptors for the banded pass, small ones for the search. */
export interface DescriptorSet {
  fg: Descriptors;
  bg: Descriptors;
  coarseFg: Descriptors;
  coarseBg: Descriptors;
  /** Fraction of pixels compared (the mask engine drops static ones), 1 for other descriptors. */
  maskFraction: number;
}

/** One video region, described. */
export interface Described {
  /**
   * The frames' times and, when the kind decodes grey analysis frames, those frames: the joint
   * refinement checks frames fetched by seeking against them (without, it trusts the timestamps).
   */
  seq: FeatureSeq;
  /** Where a model ran, for kinds that run one. */
  provider?: Provider;
}

export interface DescribeRequest {
  video: ProbeInfo;
  region: Rect;
  /** The analysis size for the region (pixel kinds decode to it). */
  size: { w: number; h: number };
  /** Called once per decoded frame. */
  onFrame: () => void;
  signal?: AbortSignal;
  /**
   * Settles when nothing else decodes beside this (fg's region is done; bg's goes on): the kind may
   * then hand the rest of the video to a second decoder, the frames and times a full decode's.
   */
  split?: Promise<unknown>;
}

export interface DescriptorKind<D extends Described = Described> {
  readonly name: Features;
  /**
   * Mean frame similarity at or above which a placement explains fg over time, so that no other
   * placement is tried (spatial/hypotheses.ts): a right pair's mean, as this kind measures it, is
   * above it, a wrong basin's below.
   */
  readonly supported: number;
  /**
   * What besides the video's identity determines the description (region, size, model), for the
   * daemon's memory cache; undefined: not kept in memory (the kind caches on disk itself).
   */
  key(req: Omit<DescribeRequest, 'onFrame' | 'signal'>): string | undefined;
  describe(req: DescribeRequest): Promise<D>;
  /**
   * Rows for the temporal engines from fg and bg described alike. `foreign`: pixels of the analysis
   * grid to leave out (fg's burnt-in graphics); kinds that do not keep pixels compare whole frames.
   */
  pair(fg: D, bg: D, engine: Engine, foreign?: Uint8Array): DescriptorSet;
  /** Memory a description holds, for the cache's budget. */
  bytes(d: D): number;
}

/** A frame's presentation time: the decoder's when known, else from its index at the average rate. */
export function timeOf(seq: FeatureSeq, info: Pick<ProbeInfo, 'fps'>, i: number): number {
  return seq.times.length > i ? seq.times[i] : i / info.fps;
}
