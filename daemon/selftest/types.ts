import type { ExcerptPlan, SelftestCase } from './cases';
import type { Score } from './score';

/** What a selftest reports: per case, the real pair, and the summary (shared by run.ts and report.ts). */

export type Role = 'bg' | 'fg';

export interface Seconds {
  wall: number;
  /** This process and the ffmpeg children it waited for. */
  cpu: number;
}

export interface CaseResult {
  source: Role;
  name: string;
  what: string;
  expect: SelftestCase['expect'];
  /** A wrong pair's expected problem (cases.ts). */
  refuseAs?: SelftestCase['refuseAs'];
  /** The trust verdict was sure. */
  accepted: boolean;
  /** A wrong pair refused with the problem it should be refused for. */
  reasonRight?: boolean;
  /** A right pair accepted and accurate, or a wrong pair refused. */
  pass: boolean;
  trust?: { score: number; verdict: string; problem?: string; reasons: string[] };
  /** The alignment stopped with this (fg not found in bg): a refusal. */
  error?: string;
  truth?: { x: number; y: number; scale: number };
  found?: { x: number; y: number; scale: number };
  /** Right pairs: the alignment against the truth. */
  score?: Score;
  fgFrames: number;
  fgSeconds: number;
  seconds: Seconds;
}

export interface RealPair {
  accepted: boolean;
  trust?: CaseResult['trust'];
  error?: string;
  spatial?: { x: number; y: number; scale: number };
  offsetSeconds?: number;
  speed?: number;
  fgSeconds: number;
  seconds: Seconds;
}

export interface SelftestReport {
  threshold: number;
  sources: { role: Role; file: string; excerpt: ExcerptPlan & { frames: number } }[];
  cases: CaseResult[];
  /** BG and FG themselves, with FG: no truth, its trust beside the corpus's. */
  realPair?: RealPair;
  summary: Summary;
  /** The scratch folder, already removed. */
  tempDir: string;
  seconds: Seconds;
}

export interface Summary {
  right: {
    pairs: number;
    accepted: number;
    /** Accepted and within the accuracy bar (score.ts `accurate`). */
    accurate: number;
    /** The worst case's share within one frame, 0..1. */
    within1Min: number;
    maxFrameError: number;
    timeMeanMs: number;
    timeMaxMs: number;
    positionMaxPx: number;
    scaleMaxPct: number;
  };
  /** refusedAsExpected: refused with the expected problem (bg and fg swapped, bg too short, unrelated). */
  wrong: { pairs: number; refused: number; refusedAsExpected: number };
  /** The lowest trust among right pairs and the highest among wrong ones (a stopped alignment scores 0). */
  trust: { lowestRight?: { case: string; score: number }; highestWrong?: { case: string; score: number } };
  /** Each case that did not pass, and why. */
  failures: string[];
  passed: boolean;
}

