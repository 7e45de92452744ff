import { WITHIN1_BAR } from './score';
import type { CaseResult, SelftestReport, Summary } from './types';

/**
 * What a selftest found, summed up and said: the verdict the exit status follows (every right pair
 * accepted and accurate, every wrong pair refused), where the trust threshold stands between the
 * lowest-scoring right pair and the highest-scoring wrong one, and the table the CLI prints.
 */

export const caseLabel = (c: CaseResult) => `${c.source} ${c.name}`;
const trustScore = (c: CaseResult) => c.trust?.score ?? 0;

export function summarize(cases: CaseResult[]): Summary {
  const right = cases.filter((c) => c.expect === 'accept');
  const wrong = cases.filter((c) => c.expect === 'refuse');
  const scored = right.flatMap((c) => (c.score ? [c.score] : []));
  const max = (vs: number[]) => vs.reduce((a, b) => Math.max(a, b), 0);
  const extreme = (cs: CaseResult[], pick: (a: number, b: number) => boolean) =>
    cs.reduce<CaseResult | undefined>((best, c) => (!best || pick(trustScore(c), trustScore(best)) ? c : best), undefined);
  const low = extreme(right, (a, b) => a < b);
  const high = extreme(wrong, (a, b) => a > b);
  return {
    right: {
      pairs: right.length,
      accepted: right.filter((c) => c.accepted).length,
      accurate: right.filter((c) => c.pass).length,
      within1Min: scored.length ? Math.min(...scored.map((s) => s.within1)) : 0,
      maxFrameError: max(scored.map((s) => s.maxErr)),
      timeMeanMs: round2(scored.reduce((a, s) => a + (s.timeMeanMs ?? 0), 0) / Math.max(1, scored.length)),
      timeMaxMs: max(scored.map((s) => s.timeMaxMs ?? 0)),
      positionMaxPx: round2(max(scored.map((s) => Math.hypot(s.dx, s.dy)))),
      scaleMaxPct: round2(max(scored.map((s) => Math.abs(s.scalePct)))),
    },
    wrong: { pairs: wrong.length, refused: wrong.filter((c) => !c.accepted).length, refusedAsExpected: wrong.filter((c) => c.reasonRight).length },
    trust: {
      ...(low ? { lowestRight: { case: caseLabel(low), score: trustScore(low) } } : {}),
      ...(high ? { highestWrong: { case: caseLabel(high), score: trustScore(high) } } : {}),
    },
    failures: cases.filter((c) => !c.pass).map((c) => `${caseLabel(c)}: ${whyFailed(c)}`),
    passed: cases.every((c) => c.pass),
  };
}

function whyFailed(c: CaseResult): string {
  if (c.expect === 'refuse') return `accepted a wrong pair (trust ${trustScore(c).toFixed(2)})`;
  if (c.error) return `stopped: ${c.error}`;
  if (!c.accepted) return `refused (trust ${trustScore(c).toFixed(2)}: ${c.trust?.reasons.join('; ')})`;
  const s = c.score!;
  const off: string[] = [];
  if (s.within1 < WITHIN1_BAR) off.push(`${pct(s.within1)} of frames within one (max error ${s.maxErr})`);
  const px = Math.max(1, c.truth!.scale);
  if (Math.abs(s.dx) > px || Math.abs(s.dy) > px) off.push(`placed ${fmt(s.dx)}, ${fmt(s.dy)} px off`);
  if (Math.abs(s.dSize) > px) off.push(`size ${fmt(s.dSize)} px off (scale ${fmt(s.scalePct)}%)`);
  return `accepted but inaccurate: ${off.join(', ')}`;
}

const round2 = (v: number) => Math.round(v * 100) / 100;
const pct = (f: number) => `${(f * 100).toFixed(1)}%`;
const fmt = (v: number) => (Math.abs(v) < 0.005 ? '0' : v.toFixed(2));

/** The report as the CLI prints it without --json: one row per case, then the summary lines. */
export function formatReport(r: SelftestReport): string[] {
  const head = ['case', 'expect', 'trust', 'verdict', 'within 1', 'max', 'time ms', 'px', 'scale %', 'wall s', 'cpu s', ''];
  const rows = r.cases.map((c) => {
    const s = c.score;
    return [
      caseLabel(c),
      c.expect,
      c.trust ? c.trust.score.toFixed(2) : '-',
      c.error ? 'stopped' : c.accepted ? 'sure' : 'unsure',
      s ? pct(s.within1) : '',
      s ? String(s.maxErr) : '',
      s && s.timeMeanMs !== undefined ? `${s.timeMeanMs.toFixed(1)}/${s.timeMaxMs!.toFixed(1)}` : '',
      s ? Math.hypot(s.dx, s.dy).toFixed(1) : '',
      s ? fmt(s.scalePct) : '',
      c.seconds.wall.toFixed(1),
      c.seconds.cpu.toFixed(1),
      c.pass ? 'ok' : 'FAIL',
    ];
  });
  const widths = head.map((h, k) => Math.max(h.length, ...rows.map((row) => row[k].length)));
  const line = (cells: string[]) => cells.map((v, k) => (k < 2 || k === 3 ? v.padEnd(widths[k]) : v.padStart(widths[k]))).join('  ').trimEnd();
  const out = [line(head), ...rows.map(line)];
  const m = r.summary;
  const ex = r.sources.map((s) => `${s.role} ${s.excerpt.seconds} s from ${s.excerpt.start} s at ${s.excerpt.width}x${s.excerpt.height} (${s.excerpt.frames} frames)`);
  out.push('', `excerpts: ${ex.join('; ')}`);
  out.push(
    `right pairs: ${m.right.accepted}/${m.right.pairs} accepted, ${m.right.accurate} accurate; ` +
      `within one frame ≥ ${pct(m.right.within1Min)}, max frame error ${m.right.maxFrameError}; ` +
      `time error mean ${m.right.timeMeanMs.toFixed(1)} ms, max ${m.right.timeMaxMs.toFixed(1)} ms; ` +
      `placement ≤ ${m.right.positionMaxPx.toFixed(1)} px, scale ≤ ${m.right.scaleMaxPct.toFixed(2)}%`,
  );
  out.push(`wrong pairs: ${m.wrong.refused}/${m.wrong.pairs} refused, ${m.wrong.refusedAsExpected} for the expected reason`);
  const lo = m.trust.lowestRight;
  const hi = m.trust.highestWrong;
  out.push(
    `trust threshold ${r.threshold}: right pairs score ${lo ? `≥ ${lo.score.toFixed(2)} (lowest: ${lo.case})` : '-'}, ` +
      `wrong pairs ≤ ${hi ? `${hi.score.toFixed(2)} (highest: ${hi.case})` : '-'}`,
  );
  const fgSeconds = r.cases.reduce((a, c) => a + c.fgSeconds, 0);
  const wall = r.cases.reduce((a, c) => a + c.seconds.wall, 0);
  const cpu = r.cases.reduce((a, c) => a + c.seconds.cpu, 0);
  out.push(
    `speed: aligned ${fgSeconds.toFixed(1)} s of fg in ${wall.toFixed(1)} s (${(fgSeconds / Math.max(0.01, wall)).toFixed(2)}× real time), ` +
      `CPU ${cpu.toFixed(1)} s; whole selftest ${r.seconds.wall.toFixed(1)} s`,
  );
  const p = r.realPair;
  if (p) {
    const where = p.spatial ? `fg at x=${p.spatial.x} y=${p.spatial.y} scale=${p.spatial.scale}, offset ${p.offsetSeconds?.toFixed(3)} s, speed ${p.speed?.toFixed(4)}` : '';
    const verdict = p.error ? `stopped: ${p.error}` : `trust ${p.trust!.score.toFixed(2)} (${p.accepted ? 'sure' : `unsure: ${p.trust!.reasons.join('; ')}`})`;
    out.push(`real pair bg + fg (no truth): ${verdict}${where ? `; ${where}` : ''}; ${p.seconds.wall.toFixed(1)} s`);
  }
  out.push(m.passed ? 'passed: every right pair accepted and accurate, every wrong pair refused' : `FAILED: ${m.failures.join('; ')}`);
  return out;
}
