import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CancellationTokenSource } from 'vscode-languageserver-protocol/node';
import {
  alignRequest,
  batchRequest,
  environmentRequest,
  liveAlignRequest,
  probeRequest,
  type BatchResult,
  type LiveAlignResult,
} from '../protocol/lsp';
import { pathToUri } from '../daemon/server/uri';
import { writtenByVidkompy } from '../daemon/media/probe';
import { BIN } from './support/cli';
import { freePort } from './support/codeServer';
import { ensureBuilt, failure, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * The daemon's side of the editor's live features, over stdio as the extension talks to it:
 * re-aligning after an edit (vidkompy/liveAlign) only when it is cheap and wanted, what it runs
 * with (vidkompy/environment, for the log), probes for New Project's pickers, and Run Batch
 * (vidkompy/batch) on this machine and on a real redis-server with a `vidkompy worker`.
 */

const FG = { crop: { x: 150, y: 90, width: 352, height: 224 }, fps: 30, offset: 0.8, frames: 60 };
const FG2 = { crop: { x: 100, y: 60, width: 320, height: 200 }, offset: 1, frames: 45 };

const text = (o: Record<string, unknown>) => JSON.stringify(o, null, 2) + '\n';

describe('the editor\'s live features, in the daemon', () => {
  let dir: string;
  let client: TestClient;
  let fg2: string;

  before(async () => {
    ensureBuilt();
    dir = await tempDir('live');
    await fs.mkdir(path.join(dir, 'clips'));
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    await fs.copyFile((await derived(SAMPLE, FG)).fg, path.join(dir, 'clips', 'fg.mp4'));
    fg2 = (await derived(SAMPLE, FG2)).fg;
    await fs.copyFile(fg2, path.join(dir, 'clips', 'other.mp4'));
    client = await startClient({ root: dir });
  });
  after(async () => {
    assert.equal(await client?.close(), 0, client?.stderr());
  });

  it('re-aligns after an option edit, from memory, and only then', async (t) => {
    const file = path.join(dir, 'demo.vidkompy.json');
    const base = { bg: 'bg.mpg', fg: 'clips/fg.mp4', render: { preset: 'ultrafast' } };
    await fs.writeFile(file, text(base));
    const uri = client.open(file, text(base), 1);
    const project = pathToUri(file);
    const live = (version: number) => client.conn.sendRequest(liveAlignRequest, { project, version }) as Promise<LiveAlignResult>;

    const never = await live(1);
    assert.equal(never.state, 'skipped');
    assert.equal(never.state === 'skipped' && never.why, 'never aligned');
    assert.match(never.state === 'skipped' ? never.reason : '', /run vidkompy: Align once/, 'in the palette\'s words');
    assert.equal(existsSync(path.join(dir, 'demo.vidkompy.align.json')), false, 'a first alignment waits for the user');

    await client.conn.sendRequest(alignRequest, { project });
    const first = JSON.parse(await fs.readFile(path.join(dir, 'demo.vidkompy.align.json'), 'utf8'));

    // Render options do not touch the alignment.
    client.change(uri, text({ ...base, render: { preset: 'veryfast' } }), 2);
    assert.deepEqual(await live(2), { state: 'fresh' });

    // An option the alignment depends on: re-aligned, as a live job, from the worker's memory.
    client.change(uri, text({ ...base, engine: 'precise', window: 12 }), 3);
    const r = await live(3);
    assert.equal(r.state, 'aligned', JSON.stringify(r));
    assert.ok(r.state === 'aligned' && !r.result.cached);
    t.diagnostic(`live re-align through the daemon (cached analysis, sample pair): ${r.state === 'aligned' ? r.seconds : '?'} s`);
    const again = JSON.parse(await fs.readFile(path.join(dir, 'demo.vidkompy.align.json'), 'utf8'));
    assert.equal(again.options.engine, 'precise');
    assert.equal(again.options.window, 12);
    assert.deepEqual([again.spatial.x, again.spatial.y], [first.spatial.x, first.spatial.y]);
    const job = client.statuses.at(-1)!.jobs.at(-1)!;
    assert.deepEqual([job.kind, job.state, job.live], ['align', 'done', true]);
    assert.ok(typeof job.seconds === 'number' && job.seconds >= 0, 'the job says how long it ran');

    // An edit older than the daemon's text is superseded; errors and new videos wait.
    const stale = await live(2);
    assert.equal(stale.state === 'skipped' && stale.why, 'superseded');
    client.change(uri, text({ ...base, engine: 'precise', window: -3 }), 4);
    const broken = await live(4);
    assert.equal(broken.state === 'skipped' && broken.why, 'errors', JSON.stringify(broken));
    assert.match(broken.state === 'skipped' ? broken.reason : '', /Problems panel/);
    client.change(uri, text({ ...base, fg: 'clips/other.mp4' }), 5);
    const other = await live(5);
    assert.equal(other.state === 'skipped' && other.why, 'inputs changed', JSON.stringify(other));
    assert.match(other.state === 'skipped' ? other.reason : '', /fg is now "clips\/other\.mp4".*run vidkompy: Align/);
  });

  it('a newer edit cancels the re-alignment in flight, leaving the alignment as it was', async () => {
    const file = path.join(dir, 'cancel.vidkompy.json');
    const base = { bg: 'bg.mpg', fg: 'clips/other.mp4', render: { preset: 'ultrafast' } };
    await fs.writeFile(file, text(base));
    const uri = client.open(file, text(base), 1);
    const project = pathToUri(file);
    await client.conn.sendRequest(alignRequest, { project });
    const alignment = path.join(dir, 'cancel.vidkompy.align.json');
    const before = await fs.readFile(alignment, 'utf8');
    // A first alignment of other videos holds the queue, so the re-alignment is surely still in
    // flight (queued) when the newer edit cancels it.
    const blocker = path.join(dir, 'blocker.vidkompy.json');
    await fs.copyFile((await derived(SAMPLE, { crop: { x: 20, y: 40, width: 400, height: 260 }, offset: 0.5, frames: 50 })).fg, path.join(dir, 'clips', 'blocker.mp4'));
    await fs.writeFile(blocker, text({ bg: 'bg.mpg', fg: 'clips/blocker.mp4' }));
    const blocking = client.conn.sendRequest(alignRequest, { project: pathToUri(blocker) });
    await client.until('the first alignment to run', () => client.statuses.at(-1)?.jobs.find((j) => j.state === 'running' && j.project === pathToUri(blocker)));
    client.change(uri, text({ ...base, engine: 'precise' }), 2);
    const cts = new CancellationTokenSource();
    const pending = client.conn.sendRequest(liveAlignRequest, { project, version: 2 }, cts.token);
    await client.until('the re-alignment to wait its turn', () => client.statuses.at(-1)?.jobs.find((j) => j.live && j.state === 'queued' && j.project === project));
    cts.cancel();
    const e = await failure(pending);
    assert.equal(e.code, -32800, 'RequestCancelled');
    await client.until('the job to end as cancelled', () => client.statuses.at(-1)?.jobs.find((j) => j.live && j.project === project && j.state === 'cancelled'));
    await blocking;
    assert.equal(await fs.readFile(alignment, 'utf8'), before, 'the alignment is untouched');
  });

  it('says what it runs with: version, tools, provider, kernels, hardware', async () => {
    const env = await client.conn.sendRequest(environmentRequest);
    const pkg = JSON.parse(await fs.readFile(path.resolve(__dirname, '..', 'package.json'), 'utf8'));
    assert.equal(env.version, pkg.version);
    assert.ok(path.isAbsolute(env.ffmpeg.path) && existsSync(env.ffmpeg.path), env.ffmpeg.path);
    assert.ok(existsSync(env.ffprobe.path), env.ffprobe.path);
    assert.match(env.ffmpeg.version, /\d+\.\d+/, 'the release ffmpeg names');
    assert.match(env.ffprobe.version, /\d+\.\d+/);
    assert.ok(['cpu', 'cuda'].includes(env.provider.name) && env.provider.reason.length > 5, JSON.stringify(env.provider));
    assert.ok(['native', 'typescript'].includes(env.kernels.backend));
    assert.ok(env.hardware.decoder && env.hardware.decoderReason && env.hardware.encoder && env.hardware.encoderReason, JSON.stringify(env.hardware));
  });

  it('probes a video for the pickers: duration, picture size, frame rate and file size', async () => {
    const file = path.join(dir, 'clips', 'fg.mp4');
    const v = await client.conn.sendRequest(probeRequest, { uri: pathToUri(file) });
    assert.deepEqual([v.width, v.height, v.fps, v.frameCount], [352, 224, 30, 60]);
    assert.ok(Math.abs(v.duration - 2) < 0.05, `duration ${v.duration}`);
    assert.equal(v.bytes, (await fs.stat(file)).size);
  });
});

/** A folder of two small projects, each with its bg and fg. */
async function twoProjects(prefix: string): Promise<string> {
  const root = await tempDir(prefix);
  for (const [name, spec] of [['a', FG], ['b', FG2]] as const) {
    await fs.mkdir(path.join(root, name));
    await fs.copyFile(SAMPLE, path.join(root, name, 'bg.mpg'));
    await fs.copyFile((await derived(SAMPLE, spec)).fg, path.join(root, name, 'fg.mp4'));
    await fs.writeFile(path.join(root, name, `${name}.vidkompy.json`), text({ bg: 'bg.mpg', fg: 'fg.mp4', output: 'out.mp4', render: { preset: 'ultrafast' } }));
  }
  return root;
}

describe('Run Batch, in the daemon', () => {
  const clients: TestClient[] = [];
  const children: ChildProcess[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    for (const p of children) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
  });

  const outputsOf = async (root: string, r: BatchResult, context = '') => {
    assert.deepEqual([r.jobs, r.done, r.failed], [2, 2, 0], `${JSON.stringify(r)}\n${context}`);
    for (const name of ['a', 'b']) {
      const out = path.join(root, name, 'out.mp4');
      assert.ok(await writtenByVidkompy(out), `${out} rendered`);
      assert.ok(existsSync(path.join(root, name, `${name}.vidkompy.align.json`)));
    }
    assert.deepEqual(readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.partial-')), [], 'no temp files left');
  };

  it('runs every project of the folders on this machine, with one progress and a summary', async () => {
    const root = await twoProjects('batch-editor');
    const client = await startClient({ root });
    clients.push(client);
    const progress = client.watchProgress('batch-1');
    const r = await client.conn.sendRequest(batchRequest, { folders: [pathToUri(root)], workDoneToken: 'batch-1' });
    assert.equal(r.queue, undefined);
    await outputsOf(root, r);
    assert.equal(progress[0]?.kind, 'begin');
    const said = progress.flatMap((p) => (p.kind === 'report' && p.message ? [p.message] : []));
    assert.ok(said.some((m) => /of 2 done, \d+ failed, \d+ running/.test(m)), said.join('\n'));
    assert.equal(progress.at(-1)?.kind, 'end');
    const job = client.statuses.at(-1)!.jobs.at(-1)!;
    assert.deepEqual([job.kind, job.state], ['batch', 'done']);
    // Again: nothing to do.
    const again = await client.conn.sendRequest(batchRequest, { folders: [pathToUri(root)] });
    assert.deepEqual([again.upToDate, again.done], [2, 0]);
    // A folder without projects says so in the editor's words.
    const empty = await tempDir('batch-empty');
    const e = await failure(client.conn.sendRequest(batchRequest, { folders: [pathToUri(empty)] }));
    assert.match(e.message, /no \*\.vidkompy\.json project in .*; make one with vidkompy: New Project/);
  });

  it('cancels a batch: its jobs stop, no temp file stays, its worker processes end', async () => {
    const root = await tempDir('batch-editor-cancel');
    // Two projects slow enough to be caught running: a first alignment of a long fg each.
    const long = { crop: { x: 40, y: 30, width: 560, height: 340 }, fps: 25, offset: 0.3, speed: 1.01, frames: 170 };
    for (const name of ['a', 'b']) {
      await fs.mkdir(path.join(root, name));
      await fs.copyFile(SAMPLE, path.join(root, name, 'bg.mpg'));
      await fs.copyFile((await derived(SAMPLE, long)).fg, path.join(root, name, 'fg.mp4'));
      await fs.writeFile(path.join(root, name, `${name}.vidkompy.json`), text({ bg: 'bg.mpg', fg: 'fg.mp4', output: 'out.mp4' }));
    }
    // All the cores to one job: one worker process, whatever the machine.
    const client = await startClient({ root, settings: { threads: os.availableParallelism() } });
    clients.push(client);
    const progress = client.watchProgress('batch-cancel');
    const cts = new CancellationTokenSource();
    const pending = client.conn.sendRequest(batchRequest, { folders: [pathToUri(root)], workDoneToken: 'batch-cancel' }, cts.token);
    await client.until('a job of the batch to run', () => progress.find((p) => p.kind === 'report' && /1 running · a: /.test(p.message ?? '')));
    const workers = () => {
      const ps = spawnSync('ps', ['-o', 'pid=,args=', '--ppid', String(client.child.pid)], { encoding: 'utf8' });
      return ps.stdout.split('\n').filter((l) => /daemon\.js worker/.test(l)); // ps exits 1 when there are none
    };
    assert.equal(workers().length, 1, 'a worker process runs the job');
    cts.cancel();
    const e = await failure(pending);
    assert.equal(e.code, -32800, 'RequestCancelled');
    await client.until('the batch to end as cancelled', () => client.statuses.at(-1)?.jobs.find((j) => j.kind === 'batch' && j.state === 'cancelled'));
    // The daemon's child: nothing is pushed when it ends, so its process list is read until then.
    for (const end = Date.now() + 15_000; workers().length; ) {
      if (Date.now() > end) assert.fail(`still running: ${workers().join('; ')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.deepEqual(readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.partial-')), [], 'no temp files left');
    assert.equal(existsSync(path.join(root, 'b', 'out.mp4')), false, 'the second project never started');
  });

  it('sends the batch to the queue the setting names, where a worker runs it', async () => {
    const port = await freePort();
    const redis = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(redis);
    const url = `redis://127.0.0.1:${port}`;
    await new Promise<void>((resolve, reject) => {
      let said = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${said}`)), 10_000);
      redis.stdout.on('data', (c) => {
        said += c;
        if (!/Ready to accept connections/.test(said)) return;
        clearTimeout(timer);
        resolve();
      });
      redis.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited (${code}): ${said}`));
      });
    });
    const worker = spawn(process.execPath, [BIN, 'worker', '--queue', url, '--threads', '1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(worker);
    let workerSaid = '';
    worker.stdout.on('data', (c) => (workerSaid += c));
    worker.stderr.on('data', (c) => (workerSaid += c));
    const root = await twoProjects('batch-editor-queue');
    const client = await startClient({ root, settings: { queue: url } });
    clients.push(client);
    const r = await client.conn.sendRequest(batchRequest, { folders: [pathToUri(root)] });
    assert.equal(r.queue, url, workerSaid);
    await outputsOf(root, r, workerSaid);

    // A queue that does not answer: one line, in the editor's words, no hang.
    const down = await startClient({ root, settings: { queue: `redis://127.0.0.1:${await freePort()}` } });
    clients.push(down);
    const e = await failure(down.conn.sendRequest(batchRequest, { folders: [pathToUri(root)] }));
    assert.match(e.message, /cannot reach the job queue .*check the vidkompy\.queue setting and that redis-server runs there/);
    assert.doesNotMatch(e.message, /--queue/);
    const bad = await startClient({ root, settings: { queue: 'queue.lan:6379' } });
    clients.push(bad);
    const b = await failure(bad.conn.sendRequest(batchRequest, { folders: [pathToUri(root)] }));
    assert.match(b.message, /the vidkompy\.queue setting "queue\.lan:6379" is not a job queue address; set it to redis:\/\//);
    worker.kill('SIGTERM');
  });
});
