import { round } from '../core/numbers';
import type { ProbeInfo } from '../media/probe';
import type { Rect } from '../core/geometry';
import { type Engine } from '../../protocol/project';
import type { Features, Provider, SpatialMethod, TrackedPlacement } from '../../protocol/project';
import type { Trust } from './trust';
import { trackAt, type Placement, type Track } from '../../protocol/placement';

/**
 * What an alignment found, in memory: the engine returns it and the render takes it. How it is kept
 * on disk (the CLI's alignment file, a project's committed alignment) is daemon/store's business.
 */
export interface VideoSummary {
  file: string;
  width: number;
  height: number;
  fps: number;
  fpsRational: string;
  frameCount: number;
  duration: number;
  vfr: boolean;
  hasAudio: boolean;
}

export interface Alignment {
  version: 1;
  bg: VideoSummary;
  fg: VideoSummary & { contentRect: Rect };
  spatial: {
    /** fg's frame corner in bg (bg px) and its scale: fixed, or at fg's first frame when tracked. */
    x: number;
    y: number;
    scale: number;
    confidence: number;
    method: SpatialMethod;
    /** 'tracked': fg's window moves over bg and `track` says where it is at each frame (absent: fixed). */
    placement?: TrackedPlacement;
    track?: Track;
  };
  temporal: {
    engine: Engine;
    /** The frame descriptor compared (absent: pixels), and for embeddings the ONNX execution provider that ran. */
    features?: Features;
    /** Half-width (bg frames) of the band the final pass searched: at least the --window asked for. */
    window?: number;
    /** The audio prior, when both videos had sound: bg s = offset + speed · fg s, and how many windows agreed. */
    audio?: { offset: number; speed: number; agreement: number };
    provider?: Provider;
    bgFrameForFg: number[];
    bgTimeForFg: number[];
    confidence: number[];
    /** bg time at fg's first frame, and bg seconds per fg second (1 = same speed). */
    offsetSeconds: number;
    speed: number;
    meanConfidence: number;
    /** edit engine: where fg cuts from one stretch of bg to a later one. */
    cuts?: { fg: number; bgFrom: number; bgTo: number }[];
    /** Inclusive fg frame ranges whose bg frame is uncertain (temporal/uncertain.ts). */
    uncertain?: [number, number][];
  };
  /** How far the alignment can be trusted (engine/trust.ts); below the threshold the front ends refuse it. */
  trust?: Trust;
  timings: Record<string, number>;
}

/** A moving placement's keyframes (protocol/placement.ts): the alignment file's `spatial.track`. */
export type { Track };

/**
 * fg's frame corner (bg px) and scale at fg frame f (fractional): the fixed placement, or the
 * tracked one on the line between its keyframes (held before the first and after the last; across
 * a cut it jumps at the cut's frame).
 */
export function placedAt(spatial: Alignment['spatial'], f: number): Placement {
  const track = spatial.track;
  if (spatial.placement !== 'tracked' || !track?.keys.length) return { x: spatial.x, y: spatial.y, scale: spatial.scale };
  return trackAt(track, f);
}

export function summary(p: ProbeInfo, count = p.frameCount): VideoSummary {
  return {
    file: p.file,
    width: p.width,
    height: p.height,
    fps: round(p.fps, 6),
    fpsRational: p.fpsRational,
    frameCount: count,
    duration: round(p.duration, 6),
    vfr: p.vfr,
    hasAudio: !!p.audio,
  };
}
