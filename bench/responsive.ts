/**
 * How the daemon answers the editor while it aligns: the real daemon (dist/daemon.js) over stdio
 * aligns the bench pair while a hover on the project file is asked every 50 ms; prints the reply
 * times. Align runs in the daemon's job worker, so replies should stay in milliseconds.
 * Then the live re-alignment the editor asks for after an option edit (engine full → precise,
 * window 12): the round trip of vidkompy/liveAlign, what the user waits for between the
 * debounce and "aligned" in the status bar. Then the preview's scrubbing: the first frame and
 * single steps and jumps through vidkompy/frame, with the CPU time they took (the daemon and its
 * ffmpegs, on Linux). And how soon the align's coarse map (vidkompy/coarseMap) came.
 * `node --import tsx bench/responsive.ts BG FG DIR` runs this part of the bench alone.
 */
import { readdirSync, readFileSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol';
import { alignRequest, frameRequest, liveAlignRequest, resultRequest } from '../protocol/lsp';
import { pathToUri } from '../daemon/server/uri';
import { ensureBuilt, startClient } from '../test/support/lspClient';

export interface Responsiveness {
  alignSeconds: number;
  /** When the align's coarse map (its first pass) reached the editor, seconds from the request. */
  coarseSeconds: number;
  hovers: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  /** The live re-alignment after an option edit, round trip through the daemon: the median of three edits. */
  liveSeconds: number;
  /** Each of the three, in order. */
  liveEach: number[];
  /** How the daemon answered each ('aligned' unless something is wrong). */
  liveState: string;
  /**
   * The preview's scrubbing (vidkompy/frame at 480 px): the first frame after opening (the preview
   * proxies decoded), then one-frame steps and jumps across the video, milliseconds.
   */
  scrub: { firstMs: number; stepMedianMs: number; stepP90Ms: number; jumpMaxMs: number; steps: number; wallSeconds: number; cpuSeconds: number };
}

export async function benchResponsive(dir: string, bg: string, fg: string): Promise<Responsiveness> {
  ensureBuilt();
  const file = path.join(dir, 'responsive.vidkompy.json');
  const text = JSON.stringify({ bg: path.relative(dir, bg), fg: path.relative(dir, fg), engine: 'full' }, null, 2) + '\n';
  await fs.writeFile(file, text);
  await fs.rm(path.join(dir, 'responsive.vidkompy.align.json'), { force: true });
  // As the editor runs it: input hashes kept on disk (the extension always sets a cache folder).
  const client = await startClient({ root: dir, settings: { cacheDirectory: path.join(dir, 'cache') } });
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
    let coarseSeconds = NaN;
    void client.until('the coarse map', () => client.coarse.length > 0 || undefined, 600_000).then(
      () => (coarseSeconds = (performance.now() - t0) / 1000),
      () => undefined,
    );
    while (!done) {
      times.push(await hover());
      await new Promise((r) => setTimeout(r, 50));
    }
    await align;
    const alignSeconds = (performance.now() - t0) / 1000;
    // Three option edits in a row, each re-aligned from the analysis in memory: the median.
    const edits = [
      text.replace('"engine": "full"', '"engine": "precise",\n  "window": 12'),
      text.replace('"engine": "full"', '"engine": "mask"'),
      text.replace('"engine": "full"', '"engine": "full",\n  "window": 8'),
    ];
    const lives: { seconds: number; state: string }[] = [];
    for (const [i, edited] of edits.entries()) {
      client.change(uri, edited, i + 2);
      const t1 = performance.now();
      const r = await client.conn.sendRequest(liveAlignRequest, { project: pathToUri(file), version: i + 2 });
      lives.push({ seconds: (performance.now() - t1) / 1000, state: r.state });
    }
    const live = { state: lives.map((l) => l.state).join(', ') };
    const scrub = await scrubbing(client, pathToUri(file));
    const liveSeconds = [...lives].sort((a, b) => a.seconds - b.seconds)[1].seconds;
    const sorted = [...times].sort((a, b) => a - b);
    const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? 0;
    const replies = { hovers: times.length, medianMs: q(0.5), p95Ms: q(0.95), maxMs: sorted[sorted.length - 1] ?? 0 };
    return { alignSeconds, coarseSeconds, ...replies, liveSeconds, liveEach: lives.map((l) => l.seconds), liveState: live.state, scrub };
  } finally {
    await client.close();
  }
}

/** As a user scrubs the preview: the first frame, 40 single steps from the middle, 8 jumps. */
async function scrubbing(client: Awaited<ReturnType<typeof startClient>>, project: string): Promise<Responsiveness['scrub']> {
  const frame = async (fgFrame: number) => {
    const t = performance.now();
    const r = await client.conn.sendRequest(frameRequest, { project, fgFrame, width: 480 });
    if (r.fgFrame !== fgFrame || !r.composite.startsWith('data:image/jpeg')) throw new Error(`unexpected frame reply for ${fgFrame}`);
    return performance.now() - t;
  };
  const view = await client.conn.sendRequest(resultRequest, { project });
  const n = view?.bgFrameForFg.length ?? 0;
  if (n < 100) throw new Error(`the aligned bench project has ${n} frames`);
  const cpu0 = treeCpuSeconds(client.child.pid);
  const w0 = performance.now();
  const firstMs = await frame(0);
  const steps: number[] = [];
  const mid = Math.floor(n / 2);
  for (let i = 0; i < 40; i++) steps.push(await frame(mid + i));
  const jumps: number[] = [];
  for (let k = 1; k <= 8; k++) jumps.push(await frame(Math.floor((k * (n - 1)) / 9)));
  steps.sort((a, b) => a - b);
  const wallSeconds = (performance.now() - w0) / 1000;
  const cpuSeconds = treeCpuSeconds(client.child.pid) - cpu0;
  return {
    wallSeconds,
    cpuSeconds,
    firstMs,
    stepMedianMs: steps[steps.length >> 1],
    stepP90Ms: steps[Math.floor(steps.length * 0.9)],
    jumpMaxMs: Math.max(...jumps),
    steps: steps.length,
  };
}

/**
 * CPU seconds (user + system) of process `pid`, its children that have ended, and those still
 * running (the preview's paused decoders), from /proc; NaN where there is none.
 */
function treeCpuSeconds(pid: number | undefined): number {
  try {
    const tick = 100; // USER_HZ: 100 on every Linux Node runs on
    const fields = (p: number | string) => {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      return s.slice(s.lastIndexOf(')') + 2).split(' ').map(Number);
    };
    // After the ")" : state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
    const own = fields(pid!);
    let ticks = own[11] + own[12] + own[13] + own[14];
    for (const p of readdirSync('/proc')) {
      if (!/^\d+$/.test(p)) continue;
      try {
        const f = fields(p);
        if (f[1] === pid) ticks += f[11] + f[12];
      } catch {
        // ended meanwhile
      }
    }
    return ticks / tick;
  } catch {
    return NaN;
  }
}

if (require.main === module) {
  const [bg, fg, dir] = process.argv.slice(2);
  if (!bg || !fg || !dir) {
    console.error('usage: node --import tsx bench/responsive.ts BG FG DIR');
    process.exitCode = 2;
  } else {
    benchResponsive(dir, path.resolve(bg), path.resolve(fg)).then(
      (r) => console.log(JSON.stringify(r)),
      (e: unknown) => {
        console.error(e);
        process.exitCode = 1;
      },
    );
  }
}
