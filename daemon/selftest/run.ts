import { readFileSync } from 'node:fs';
import path from 'node:path';
import { align, type AlignRequest } from '../align';
import { makeTempDir, removeTempDir } from '../core/atomic';
import { VidkompyError } from '../core/errors';
import { round } from '../core/numbers';
import type { Alignment } from '../engine/result';
import { TRUST_THRESHOLD } from '../engine/trust';
import { derive } from '../media/derive';
import { runTool } from '../media/ffmpeg';
import { probe, type ProbeInfo } from '../media/probe';
import { threadArgs } from '../media/tools';
import { CASE_NAMES, corpus, excerptArgs, excerptPlan, patternArgs, type Clip, type ExcerptPlan, type SelftestCase } from './cases';
import { accurate, score, type Score, type Truth } from './score';
import { summarize } from './report';
import type { CaseResult, RealPair, Role, Seconds, SelftestReport } from './types';

/**
 * `vidkompy selftest`: the corpus of cases.ts made from an excerpt of the user's footage in a
 * private temp folder, each pair aligned blind (force: the verdict is what is measured, not a
 * reason to stop) and scored against its truth; with FG, the same from FG's footage, and the real
 * pair aligned as it is. The folder is removed at the end, and on a signal or a crash with the other
 * temp files (core/atomic.ts).
 */

export interface SelftestRequest {
  bg: string;
  fg?: string;
  /** Length of each excerpt, seconds. */
  seconds: number;
  /** Where each excerpt starts, seconds (default: the middle of the clip). */
  start?: number;
  /** The excerpt's longer side, pixels at most. */
  size: number;
  /** Only these cases (names from CASE_NAMES; default: all). */
  cases?: string[];
  /** The alignment options under test (engine, features, window, model): the ones a batch would use. */
  align?: AlignRequest;
  onProgress?: (label: string, fraction: number) => void;
  signal?: AbortSignal;
}

/** Shortest footage that leaves every case of the corpus a few seconds of its own. */
export const MIN_SECONDS = 3;

/** Long enough for every kind of case, small enough to take a minute or two on a laptop. */
export const SELFTEST_DEFAULTS = { seconds: 8, size: 640 } as const;

export async function selftest(o: SelftestRequest): Promise<SelftestReport> {
  const inputs: { role: Role; file: string }[] = [{ role: 'bg', file: o.bg }, ...(o.fg ? [{ role: 'fg' as const, file: o.fg }] : [])];
  // Both inputs are checked before any work: a missing or unreadable file fails in a second.
  const infos = await Promise.all(inputs.map((s) => probe(s.file, o.signal)));
  infos.forEach(checkLongEnough);
  const t0 = clock();
  const dir = await makeTempDir('vidkompy-selftest');
  try {
    const sources: SelftestReport['sources'] = [];
    const cases: CaseResult[] = [];
    const plans = inputs.map((s, k) => ({ ...s, plan: excerptPlan(infos[k], o) }));
    const wanted = (name: string) => !o.cases || o.cases.includes(name);
    const total = plans.length * CASE_NAMES.filter(wanted).length + (o.fg ? 1 : 0);
    for (const s of plans) {
      o.onProgress?.(`excerpt of ${s.role}`, cases.length / total);
      const excerpt = path.join(dir, `${s.role}-excerpt.mp4`);
      const info = await makeExcerpt(s.file, s.plan, excerpt, o.signal);
      const source = { file: excerpt, info };
      sources.push({ role: s.role, file: path.resolve(s.file), excerpt: { ...s.plan, frames: info.frameCount } });
      for (const c of corpus(info).filter((c) => wanted(c.name))) {
        const progress = (f: number) => o.onProgress?.(`${s.role}: ${c.name}`, (cases.length + f) / total);
        cases.push(await runCase(c, s.role, source, dir, o, progress));
      }
    }
    let realPair: RealPair | undefined;
    if (o.fg) {
      o.onProgress?.('bg + fg', cases.length / total);
      const r = await alignMeasured(o.bg, o.fg, o, (f) => o.onProgress?.('bg + fg', (cases.length + f) / total));
      realPair = {
        accepted: r.al?.trust?.verdict === 'sure',
        ...(r.al ? { trust: trustOf(r.al), spatial: placement(r.al), offsetSeconds: r.al.temporal.offsetSeconds, speed: r.al.temporal.speed } : {}),
        ...(r.error ? { error: r.error } : {}),
        fgSeconds: round(infos[1].duration, 3),
        seconds: r.seconds,
      };
    }
    o.onProgress?.('done', 1);
    return { threshold: TRUST_THRESHOLD, sources, cases, ...(realPair ? { realPair } : {}), summary: summarize(cases), tempDir: dir, seconds: since(t0) };
  } finally {
    await removeTempDir(dir);
  }
}

function checkLongEnough(info: ProbeInfo): void {
  if (info.frameCount < 2 || info.duration < MIN_SECONDS) {
    throw new VidkompyError(
      'BAD_ARGS',
      `${info.file}: ${info.frameCount < 2 ? 'a still image' : `${info.duration.toFixed(1)} s long`}; selftest needs at least ${MIN_SECONDS} s of video: give a longer clip`,
      info.file,
    );
  }
}

/** The excerpt, probed. Failures name the user's file, not the temp one: that is what to fix. */
async function makeExcerpt(file: string, plan: ExcerptPlan, out: string, signal?: AbortSignal): Promise<ProbeInfo> {
  await runTool('ffmpeg', excerptArgs(file, plan, out, threadArgs()), { file, what: `decoding ${plan.seconds} s from ${plan.start} s`, signal });
  const info = await probe(out, signal).catch((e: unknown) => {
    if (signal?.aborted) throw e;
    return undefined;
  });
  if (!info || info.duration < MIN_SECONDS - 0.5) {
    const got = info ? `only ${info.frameCount} frames` : 'no frames';
    throw new VidkompyError('DECODE', `${file}: ${got} decode from ${plan.start} s; the file may be damaged: re-export it, or try --start`, file);
  }
  return info;
}

interface Made {
  file: string;
  frames: number;
  seconds: number;
  /** Only for a clip derived from the source. */
  truth?: Truth;
}

/** One side of a pair, made in the scratch folder (the source is the excerpt itself). */
async function make(clip: Clip, file: string, source: { file: string; info: ProbeInfo }, signal?: AbortSignal): Promise<Made> {
  if (clip === 'source') return { file: source.file, frames: source.info.frameCount, seconds: source.info.frameCount / source.info.fps };
  if ('derive' in clip) {
    const truth = await derive(source.file, file, clip.derive, signal);
    return { file, frames: truth.bgFrameForFg.length, seconds: truth.bgFrameForFg.length / truth.fps, truth };
  }
  const p = clip.pattern;
  await runTool('ffmpeg', patternArgs(p, file), { file, what: 'generating a pattern', signal });
  return { file, frames: Math.round(p.seconds * p.fps), seconds: p.seconds };
}

async function runCase(
  c: SelftestCase,
  role: Role,
  source: { file: string; info: ProbeInfo },
  dir: string,
  o: SelftestRequest,
  progress: (f: number) => void,
): Promise<CaseResult> {
  progress(0);
  const fg = await make(c.fg, path.join(dir, `${role}-${c.name}.mp4`), source, o.signal);
  const bg = await make(c.bg ?? 'source', path.join(dir, `${role}-${c.name}-bg.mp4`), source, o.signal);
  // The truth holds for fg over the source.
  const truth = c.bg === undefined ? fg.truth : undefined;
  progress(0.2);
  const r = await alignMeasured(bg.file, fg.file, o, (f) => progress(0.2 + 0.8 * f));
  const accepted = r.al?.trust?.verdict === 'sure';
  const right = c.expect === 'accept';
  const s = right && r.al && truth ? score(r.al, truth) : undefined;
  return {
    source: role,
    name: c.name,
    what: c.what,
    expect: c.expect,
    ...(c.refuseAs ? { refuseAs: c.refuseAs, reasonRight: !accepted && (r.al?.trust?.problem ?? 'weak') === c.refuseAs } : {}),
    accepted,
    pass: right ? accepted && !!s && accurate(s, truth!) : !accepted,
    ...(r.al ? { trust: trustOf(r.al) } : {}),
    ...(r.error ? { error: r.error.split(`${dir}${path.sep}`).join('') } : {}),
    ...(right && truth ? { truth: { x: truth.x, y: truth.y, scale: truth.scale } } : {}),
    ...(r.al ? { found: placement(r.al) } : {}),
    ...(s ? { score: rounded(s) } : {}),
    fgFrames: fg.frames,
    fgSeconds: round(fg.seconds, 3),
    seconds: r.seconds,
  };
}

/** One alignment, timed; an alignment that stops (fg not found) is an answer too, not a failure of the run. */
async function alignMeasured(
  bg: string,
  fg: string,
  o: SelftestRequest,
  progress: (f: number) => void,
): Promise<{ al?: Alignment; error?: string; seconds: Seconds }> {
  const t0 = clock();
  const stages = ['spatial', 'decode', 'temporal', 'refine'];
  try {
    const al = await align(bg, fg, {
      ...o.align,
      force: true,
      signal: o.signal,
      onProgress: (stage, f) => progress((Math.max(0, stages.indexOf(stage)) + f) / stages.length),
    });
    return { al, seconds: since(t0) };
  } catch (e) {
    if (!(e instanceof VidkompyError) || e.code === 'CANCELLED') throw e;
    return { error: e.message, seconds: since(t0) };
  }
}

function trustOf(al: Alignment): NonNullable<CaseResult['trust']> {
  const t = al.trust!;
  return { score: t.score, verdict: t.verdict, ...(t.problem ? { problem: t.problem } : {}), reasons: t.reasons };
}

function placement(al: Alignment): { x: number; y: number; scale: number } {
  return { x: al.spatial.x, y: al.spatial.y, scale: al.spatial.scale };
}

function rounded(s: Score): Score {
  const r = Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? round(v, k === 'within1' ? 4 : 2) : v]);
  return Object.fromEntries(r) as Score;
}

/**
 * CPU seconds of this process and of the children it has waited for (ffmpeg does most of the
 * decoding): /proc/self/stat's cutime and cstime, in the kernel's 100 ticks a second. Elsewhere,
 * this process only.
 */
function cpuSeconds(): number {
  const own = process.cpuUsage();
  let children = 0;
  try {
    const stat = readFileSync('/proc/self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    children = (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    // Not Linux: the children's share is left out.
  }
  return (own.user + own.system) / 1e6 + (Number.isFinite(children) ? children : 0);
}

function clock(): { wall: number; cpu: number } {
  return { wall: performance.now(), cpu: cpuSeconds() };
}

function since(t0: { wall: number; cpu: number }): Seconds {
  return { wall: round((performance.now() - t0.wall) / 1000, 2), cpu: round(cpuSeconds() - t0.cpu, 2) };
}
