/**
 * A one-line progress bar on stderr, redrawn in place. Off when stderr is not a terminal (logs, CI,
 * pipes) so nothing but the result and errors reach them.
 */
export interface Progress {
  update(label: string, fraction: number): void;
  done(): void;
}

export function progressBar(enabled: boolean, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (!enabled || !stream.isTTY) return { update() {}, done() {} };
  let last = '';
  let lastAt = 0;
  const started = Date.now();
  return {
    update(label, fraction) {
      const now = Date.now();
      const f = Math.max(0, Math.min(1, fraction));
      const cols = Math.max(20, (stream.columns ?? 80) - label.length - 20);
      const filled = Math.round(f * cols);
      const line = `${label.padEnd(10)} [${'#'.repeat(filled)}${'-'.repeat(cols - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${((now - started) / 1000).toFixed(0)}s`;
      if (line === last || (now - lastAt < 80 && f < 1)) return;
      last = line;
      lastAt = now;
      stream.write(`\r${line}`);
    },
    done() {
      if (last) stream.write('\r\x1b[2K');
      last = '';
    },
  };
}
