import { WorkDoneProgress, type Connection, type ProgressToken } from 'vscode-languageserver/node';
import type { Stage } from '../../protocol/project';

/**
 * LSP work-done progress for a job: on the client's own token when the request carried one,
 * else on one the daemon asks the client to create, else nowhere.
 */
export interface ProgressReporter {
  /** fraction 0..1 of the whole job; message: what it is doing now. */
  report(fraction: number, message?: string): void;
  done(message?: string): void;
}

export async function startProgress(
  connection: Connection,
  title: string,
  token: ProgressToken | undefined,
  clientCanCreate: boolean,
  onCancel?: () => void,
): Promise<ProgressReporter> {
  let send: { report(pct: number, message?: string): void; done(message?: string): void };
  if (token !== undefined) {
    connection.sendProgress(WorkDoneProgress.type, token, { kind: 'begin', title, cancellable: true, percentage: 0 });
    send = {
      report: (percentage, message) => connection.sendProgress(WorkDoneProgress.type, token, { kind: 'report', percentage, message }),
      done: (message) => connection.sendProgress(WorkDoneProgress.type, token, { kind: 'end', message }),
    };
  } else if (clientCanCreate) {
    const r = await connection.window.createWorkDoneProgress();
    r.begin(title, 0, undefined, true);
    // The user's cancel button on a progress the daemon created comes back on its token.
    r.token.onCancellationRequested(() => onCancel?.());
    send = { report: (p, m) => (m === undefined ? r.report(p) : r.report(p, m)), done: () => r.done() };
  } else {
    return { report() {}, done() {} };
  }
  // Whole percents only, and only when something changed: the engine calls back far more often.
  let last = '';
  let ended = false;
  return {
    report(fraction, message) {
      if (ended) return;
      const pct = Math.round(Math.max(0, Math.min(1, fraction)) * 100);
      const key = `${pct}|${message ?? ''}`;
      if (key === last) return;
      last = key;
      send.report(pct, message);
    },
    done(message) {
      if (ended) return;
      ended = true;
      send.done(message);
    },
  };
}

/** Where each align stage sits in the whole job (decoding both videos dominates). */
const STAGES: Record<Stage, [number, number]> = {
  probe: [0, 0.02],
  spatial: [0.02, 0.2],
  decode: [0.2, 0.8],
  temporal: [0.8, 0.9],
  refine: [0.9, 1],
};

/** How progress names each stage: protocol/project.ts, shared with the CLI's bar. */
export { STAGE_LABEL } from '../../protocol/project';

/**
 * The align job's overall fraction from the engine's (stage, fraction) calls. The joint refinement
 * may send the job back to decoding; the bar never runs backwards for that.
 */
export function alignFraction(): (stage: Stage, fraction: number) => number {
  let best = 0;
  return (stage, f) => {
    const [a, b] = STAGES[stage];
    best = Math.max(best, a + (b - a) * Math.max(0, Math.min(1, f)));
    return best;
  };
}
