import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Alignment, VideoSummary } from '../../daemon/engine/result';
import type { ProbeInfo } from '../../daemon/media/probe';
import type { AlignmentView, VideoInfo } from '../../protocol/lsp';

/**
 * An engine alignment as the preview sees it (the daemon's `vidkompy/result`). The alignment file
 * keeps no fg times, so they are rebuilt from fg's rate, starting where `offsetSeconds` puts fg's
 * first frame; codec, rotation and audio details come from probes when given (the summary has
 * none).
 */
export interface ViewOptions {
  /** The project file, as a path or a URI. */
  project: string;
  probes?: { bg?: ProbeInfo; fg?: ProbeInfo };
  /** Manual anchors in seconds, as the project file and `align({ anchors })` take them. */
  anchors?: { fg: number; bg: number }[];
  /** Cut points, fg frame indices. */
  cuts?: number[];
  /** Uncertain spans, inclusive fg frame ranges (default: the alignment's own). */
  uncertain?: [number, number][];
  stale?: boolean;
}

export function toView(al: Alignment, o: ViewOptions): AlignmentView {
  const t = al.temporal;
  const n = t.bgFrameForFg.length;
  const first = (t.bgTimeForFg[0] ?? 0) - t.offsetSeconds;
  const fps = al.fg.fps > 0 ? al.fg.fps : 25;
  return {
    project: uri(o.project),
    bg: info(al.bg, o.probes?.bg),
    fg: { ...info(al.fg, o.probes?.fg), contentRect: { ...al.fg.contentRect } },
    spatial: {
      x: al.spatial.x,
      y: al.spatial.y,
      scale: al.spatial.scale,
      confidence: al.spatial.confidence,
      ...(al.spatial.placement === 'tracked' && al.spatial.track ? { placement: 'tracked' as const, track: al.spatial.track } : {}),
    },
    bgFrameForFg: [...t.bgFrameForFg],
    bgTimeForFg: [...t.bgTimeForFg],
    fgTimes: Array.from({ length: n }, (_, i) => round6(first + i / fps)),
    confidence: t.confidence.length === n ? [...t.confidence] : new Array<number>(n).fill(1),
    anchors: (o.anchors ?? []).map((a) => ({ fg: a.fg, bg: a.bg })),
    cuts: [...(o.cuts ?? [])],
    uncertain: (o.uncertain ?? t.uncertain ?? []).map(([a, b]) => [a, b] as [number, number]),
    stale: o.stale ?? false,
  };
}

function info(s: VideoSummary, p?: ProbeInfo): VideoInfo {
  return {
    uri: uri(s.file),
    width: s.width,
    height: s.height,
    fps: s.fps,
    frameCount: s.frameCount,
    duration: s.duration,
    codec: p?.codec ?? '',
    vfr: s.vfr,
    rotation: p?.rotation ?? 0,
    audio: p?.audio ?? null,
  };
}

function uri(p: string): string {
  return /^[a-z][a-z0-9+.-]*:/i.test(p) && !/^[a-z]:[\\/]/i.test(p) ? p : pathToFileURL(path.resolve(p)).href;
}

const round6 = (v: number) => Math.round(v * 1e6) / 1e6;
