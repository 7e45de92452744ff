/**
 * How the daemon answers the editor while it aligns: the real daemon (dist/daemon.js) over stdio
 * aligns the bench pair while a hover on the project file is asked every 50 ms; prints the reply
 * times. Align runs in the daemon's job worker, so replies should stay in milliseconds.
 */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol';
import { alignRequest } from '../protocol/lsp';
import { pathToUri } from '../daemon/server/uri';
import { ensureBuilt, startClient } from '../test/support/lspClient';

export interface Responsiveness {
  alignSeconds: number;
  hovers: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
}

export async function benchResponsive(dir: string, bg: string, fg: string): Promise<Responsiveness> {
  ensureBuilt();
  const file = path.join(dir, 'responsive.vidkompy.json');
  const text = JSON.stringify({ bg: path.relative(dir, bg), fg: path.relative(dir, fg), engine: 'full' }, null, 2) + '\n';
  await fs.writeFile(file, text);
  await fs.rm(path.join(dir, 'responsive.vidkompy.align.json'), { force: true });
  const client = await startClient({ root: dir });
  try {
    const uri = client.open(file, text);
    const position = { line: text.split('\n').findIndex((l) => l.includes('"engine"')), character: 4 };
    const hover = async () => {
      const t = performance.now();
      const r = (await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position })) as { contents: MarkupContent } | null;
      if (!r?.contents.value.includes('engine')) throw new Error(`unexpected hover reply: ${JSON.stringify(r)}`);
      return performance.now() - t;
    };
    await hover(); // warm: the first reply loads the schema docs
    const times: number[] = [];
    let done = false;
    const t0 = performance.now();
    const align = client.conn.sendRequest(alignRequest, { project: pathToUri(file) }).finally(() => (done = true));
    while (!done) {
      times.push(await hover());
      await new Promise((r) => setTimeout(r, 50));
    }
    await align;
    const alignSeconds = (performance.now() - t0) / 1000;
    const sorted = [...times].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    return { alignSeconds, hovers: times.length, medianMs: q(0.5), p95Ms: q(0.95), maxMs: sorted[sorted.length - 1] ?? 0 };
  } finally {
    await client.close();
  }
}
