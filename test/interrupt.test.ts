import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { alignRequest, renderRequest } from '../protocol/lsp';
import { BIN, runBin } from './support/cli';
import { startClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * Interrupted work leaves nothing (no partial file, no ffmpeg still encoding), and names that look
 * like ffmpeg options or protocols are read as files.
 */

let dir: string;
let fg: string;
let alignment: string;
const CROP = { x: 150, y: 90, width: 352, height: 224 };

/** Polls `ok` until it holds or `ms` pass; the thing waited for is an event in another process. */
async function until(ok: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Live children of `pid`, from /proc (ppid is the 4th field, after the parenthesised name). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(d));
    } catch {
      // Gone while we looked.
    }
  }
  return out;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie (dead, not yet reaped by its parent) is not running anything.
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

const partials = (d: string) => readdirSync(d).filter((n) => n.includes('.partial-'));

/** Starts a slow `comp` and resolves once the encoder is writing its partial output. */
type Exit = { code: number | null; signal: string | null; err: string };
async function startRender(out: string): Promise<{ cli: ChildProcess; kids: number[]; exit: Promise<Exit> }> {
  // veryslow on one thread at bg's size: still rendering when the signal comes.
  const args = ['comp', '--bg', SAMPLE, '--fg', fg, '--use-alignment', alignment, '--bg-size', '--preset', 'veryslow', '--threads', '1', '-o', out];
  const cli = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let err = '';
  cli.stderr!.on('data', (c) => (err += c));
  const exit = new Promise<Exit>((r) => cli.on('close', (code, signal) => r({ code, signal, err })));
  const d = path.dirname(out);
  // Rendering has started when the encoder has put bytes in the partial file (the output check's
  // empty temp comes and goes before that).
  await until(() => partials(d).some((n) => statSync(path.join(d, n), { throwIfNoEntry: false })?.size), 60_000, 'the partial output');
  const kids = childrenOf(cli.pid!);
  assert.ok(kids.length >= 2, `comp runs its ffmpeg children and reaper (${kids})`);
  return { cli, kids, exit };
}

describe('interrupted work and odd names', () => {
  before(async () => {
    dir = await tempDir('interrupt');
    fg = (await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 120 })).fg;
    alignment = path.join(dir, 'pair.align.json');
    const r = await runBin(['sync', '--bg', SAMPLE, '--fg', fg, '-o', alignment]);
    assert.equal(r.code, 0, r.err);
  });

  for (const [sig, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const) {
    it(`${sig} during comp: exit ${code}, one line, no partial file, no ffmpeg left`, async () => {
      const d = await fs.mkdtemp(path.join(dir, 'sig-'));
      const out = path.join(d, 'out.mp4');
      const { cli, kids, exit } = await startRender(out);
      cli.kill(sig);
      const r = await exit;
      assert.equal(r.code, code, r.err);
      assert.equal(r.err.trim().split('\n').length, 1, r.err);
      assert.match(r.err, /interrupted/);
      await until(() => kids.every((k) => !alive(k)), 5000, 'the children to exit');
      assert.deepEqual(partials(d), []);
      assert.equal(existsSync(out), false);
    });
  }

  it('SIGKILL during comp: the reaper ends ffmpeg and removes the partial; a dead writer\'s leftover is swept next time', async () => {
    const d = await fs.mkdtemp(path.join(dir, 'kill-'));
    const out = path.join(d, 'out.mp4');
    const { cli, kids, exit } = await startRender(out);
    const deadPid = cli.pid!;
    cli.kill('SIGKILL');
    await exit;
    await until(() => kids.every((k) => !alive(k)), 5000, 'the orphaned children (ffmpeg, reaper) to exit');
    await until(() => partials(d).length === 0, 5000, 'the reaper to remove the partial output');
    assert.equal(existsSync(out), false, 'the encoder did not finish a truncated file');
    // What a writer that died with no reaper (power loss) leaves: swept by the next write of the same output.
    const leftover = path.join(d, `.out.partial-${deadPid}-zz.mp4`);
    await fs.writeFile(leftover, 'half a video');
    const keep = path.join(d, `.out.partial-${process.pid}-zz.mp4`);
    await fs.writeFile(keep, 'a live writer');
    const r = await runBin(['comp', '--bg', SAMPLE, '--fg', fg, '--use-alignment', alignment, '--preset', 'ultrafast', '-o', out]);
    assert.equal(r.code, 0, r.err);
    assert.equal(existsSync(leftover), false, 'the dead writer\'s partial is swept');
    assert.equal(existsSync(keep), true, 'a live writer\'s partial is left alone');
    await fs.rm(keep);
  });

  // The daemon's jobs run ffmpeg from a worker thread; its reaper watches the daemon's pipe the same way.
  for (const how of ['SIGKILL', 'SIGTERM', 'SIGINT', 'stdin closed'] as const) {
    it(`daemon ${how} during a render: no ffmpeg left, no partial file`, async () => {
      const d = await fs.mkdtemp(path.join(dir, 'daemon-'));
      await fs.copyFile(SAMPLE, path.join(d, 'bg.mpg'));
      await fs.copyFile(fg, path.join(d, 'fg.mp4'));
      const project = path.join(d, 'job.vidkompy.json');
      const spec = { bg: 'bg.mpg', fg: 'fg.mp4', output: 'out.mp4', spatial: { x: CROP.x, y: CROP.y, scale: 1 }, audio: 'none', render: { preset: 'veryslow', canvas: 'bg' } };
      await fs.writeFile(project, JSON.stringify(spec));
      const client = await startClient({ root: d, settings: { threads: 1 } });
      const uri = pathToFileURL(project).href;
      await client.conn.sendRequest(alignRequest, { project: uri });
      const render = client.conn.sendRequest(renderRequest, { project: uri });
      render.catch(() => undefined);
      await until(() => partials(d).some((n) => statSync(path.join(d, n), { throwIfNoEntry: false })?.size), 60_000, 'the partial output');
      const daemon = client.child.pid!;
      const kids = childrenOf(daemon);
      assert.ok(kids.length >= 2, `the daemon runs ffmpeg and a reaper (${kids})`);
      const exited = new Promise((r) => client.child.on('close', r));
      if (how === 'stdin closed') client.child.stdin.end();
      else client.child.kill(how);
      await exited;
      await until(() => kids.every((k) => !alive(k)), 5000, 'the daemon\'s children (ffmpeg, reaper) to exit');
      await until(() => partials(d).length === 0, 5000, 'the partial output to be removed');
      assert.equal(existsSync(path.join(d, 'out.mp4')), false, 'no truncated render finished in its place');
    });
  }

  it('names starting with - or holding : and | are files, not options or protocols', async () => {
    const d = await fs.mkdtemp(path.join(dir, 'names-'));
    await fs.copyFile(fg, path.join(d, '-report.mp4'));
    await fs.copyFile(SAMPLE, path.join(d, 'concat:a.mp4|b.mp4'));
    const r = await runBin(['find', '--json', '--', '-report.mp4', 'concat:a.mp4|b.mp4'], { cwd: d });
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(Math.round(j.x ?? j.spatial?.x), CROP.x, r.out);
    assert.deepEqual(readdirSync(d).filter((n) => n.endsWith('.log')), [], 'no -report log written');
  });
});
