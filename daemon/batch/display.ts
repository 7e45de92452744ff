import path from 'node:path';
import type { JobProgress, JobResult } from './job';

/**
 * The batch's progress as one line on stderr, redrawn in place: jobs done/failed/running and each
 * running job's stage and percentage. Off unless stderr is a terminal, like the CLI's progress bar.
 */
export class BatchView {
  private running = new Map<string, JobProgress | undefined>();
  private finished: JobResult[] = [];
  private last = '';
  private lastAt = 0;
  private readonly on: boolean;

  constructor(
    private readonly total: number,
    enabled: boolean,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.on = enabled && !!stream.isTTY;
  }

  start(file: string): void {
    if (!this.running.has(file)) this.running.set(file, undefined);
    this.draw();
  }

  progress(file: string, p: JobProgress | undefined): void {
    this.running.set(file, p);
    this.draw();
  }

  /** Jobs waiting again (a retry, a stalled worker's job handed back) are not running. */
  waiting(file: string): void {
    this.running.delete(file);
  }

  finish(r: JobResult): void {
    this.running.delete(r.project);
    this.finished.push(r);
    this.draw(true);
  }

  done(): void {
    if (this.last) this.stream.write('\r\x1b[2K');
    this.last = '';
  }

  private draw(force = false): void {
    if (!this.on) return;
    const now = Date.now();
    if (!force && now - this.lastAt < 100) return;
    const n = (s: JobResult['status']) => this.finished.filter((r) => r.status === s).length;
    const jobs = [...this.running].map(([f, p]) => `${path.basename(f).replace(/\.vidkompy\.json$/, '')}: ${p ? `${p.stage} ${p.percent}%` : 'starting'}`);
    const ok = n('done') + n('up to date');
    const head = `[${this.finished.length}/${this.total}] ${ok} done, ${n('failed') + n('cancelled')} failed, ${this.running.size} running`;
    const line = [head, ...jobs].join(' · ').slice(0, Math.max(20, (this.stream.columns || 80) - 1));
    if (line === this.last) return;
    this.last = line;
    this.lastAt = now;
    this.stream.write(`\r\x1b[2K${line}`);
  }
}
