import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Redis } from 'ioredis';
import { QUEUE_NAME } from '../daemon/batch/constants';
import { discoverProjects } from '../daemon/batch/discover';
import { retryable } from '../daemon/batch/job';
import { poolSize } from '../daemon/batch/local';
import { parseQueueUrl } from '../daemon/batch/redis';
import { summarise } from '../daemon/batch/summary';
import { mapPath } from '../daemon/batch/worker';
import { writtenByVidkompy } from '../daemon/media/probe';
import { fromProjectAlignment, type ProjectAlignment } from '../daemon/store';
import type { DeriveTruth } from '../daemon/media/derive';
import { assertAccurate } from './support/accuracy';
import { BIN, runBin, type CliResult } from './support/cli';
import { derived, SAMPLE, tempDir } from './support/media';
import { collect, exited, freePort, startRedis, whenFiles, whenLine } from './support/queue';

/**
 * Batches of projects: on this machine with worker processes, and through a real redis-server
 * (started here on 127.0.0.1 at a free port, stopped by its PID) with `vidkompy worker`s, one of
 * them killed mid-job. Every wait is on an event (a line, a file, a state in Redis), bounded.
 * Needs the built CLI (node scripts/build.mjs).
 */

// Cases test/accuracy.test.ts holds to the truth (shortened where that still aligns exactly).
const CASES = [
  { name: 'a', spec: { crop: { x: 100, y: 60, width: 320, height: 200 }, offset: 1, frames: 60 } },
  { name: 'b', spec: { crop: { x: 101, y: 57, width: 400, height: 240 }, offset: 1.5 } },
  { name: 'c', spec: { crop: { x: 200, y: 100, width: 320, height: 180 }, size: { width: 640, height: 360 }, fps: 30, offset: 0.4, frames: 90 } },
];
const truths = new Map<string, DeriveTruth>();
const fgs = new Map<string, string>();

/** A folder of the three projects, each in its own subfolder with its bg and fg. */
async function makeBatch(prefix: string, render: Record<string, Record<string, unknown>> = {}): Promise<string> {
  const root = await tempDir(prefix);
  for (const { name } of CASES) {
    const dir = path.join(root, name);
    await fs.mkdir(dir);
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    await fs.copyFile(fgs.get(name)!, path.join(dir, 'fg.mp4'));
    const project = { bg: 'bg.mpg', fg: 'fg.mp4', output: 'out.mp4', render: render[name] ?? { preset: 'ultrafast' } };
    await fs.writeFile(path.join(dir, `${name}.vidkompy.json`), JSON.stringify(project, null, 2) + '\n');
  }
  return root;
}

const alignmentOf = (root: string, name: string) => path.join(root, name, `${name}.vidkompy.align.json`);
const partialsUnder = (root: string): string[] => readdirSync(root, { recursive: true, encoding: 'utf8' }).filter((f) => f.includes('.partial-'));

// A short lock, so a killed worker's job is taken over within seconds; not so short that a busy
// machine delays a live worker's lock renewal past it (its job would then run twice).
const LOCK_ENV = { ...process.env, VIDKOMPY_QUEUE_LOCK_MS: '5000' };
const workers: ChildProcess[] = [];
function startWorker(url: string, ...args: string[]): ChildProcess {
  const w = collect(spawn(process.execPath, [BIN, 'worker', '--queue', url, '--threads', '1', ...args], { env: LOCK_ENV, stdio: ['ignore', 'pipe', 'pipe'] }));
  workers.push(w);
  return w;
}

/** Runs the built CLI in the background, collecting its output. */
function bin(args: string[]): { child: ChildProcess; done: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: LOCK_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout!.on('data', (c) => (out += c));
  child.stderr!.on('data', (c) => (err += c));
  const done = new Promise<CliResult>((r) => child.on('close', (code) => r({ code: code ?? -1, out, err })));
  return { child, done };
}

/** The local batch, run once: the first test checks it, the queue tests compare their bytes with it. */
let local: string;
let localRun: Promise<CliResult> | undefined;
function localBatch(): Promise<CliResult> {
  return (localRun ??= makeBatch('batch-local').then((root) => ((local = root), runBin(['batch', root, '--workers', '2', '--json']))));
}

before(async () => {
  for (const { name, spec } of CASES) {
    const d = await derived(SAMPLE, spec);
    truths.set(name, d.truth);
    fgs.set(name, d.fg);
  }
});

after(async () => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
});

describe('the pieces of a batch', () => {
  it('reads queue URLs, refusing what is not Redis', () => {
    const plain = { shown: 'redis://10.0.0.5:6380/2', host: '10.0.0.5', port: 6380, db: 2, username: undefined, password: undefined, tls: false };
    assert.deepEqual(parseQueueUrl('redis://10.0.0.5:6380/2'), plain);
    const secret = parseQueueUrl('rediss://:p%40ss@queue.lan');
    assert.deepEqual([secret.shown, secret.port, secret.password, secret.tls], ['rediss://queue.lan', 6379, 'p@ss', true], 'the password is never shown');
    assert.throws(() => parseQueueUrl('queue.lan:6379'), /--queue queue\.lan:6379: unknown scheme 'queue\.lan'/);
    assert.throws(() => parseQueueUrl('redis://h/x'), /'x' is not a database number/);
  });

  it('sizes the local pool by cores and threads', () => {
    assert.deepEqual(poolSize(10, undefined, undefined, 8), { workers: 4, threads: 2 });
    assert.deepEqual(poolSize(10, undefined, 4, 8), { workers: 2, threads: 4 });
    assert.deepEqual(poolSize(2, 6, undefined, 8), { workers: 2, threads: 4 }, 'never more workers than projects');
    assert.deepEqual(poolSize(3, undefined, 16, 2), { workers: 1, threads: 16 });
  });

  it('retries only what may pass next time, and maps a share mounted elsewhere', () => {
    assert.equal(retryable({ project: 'p', status: 'failed', code: 'INTERNAL' }), true);
    assert.equal(retryable({ project: 'p', status: 'failed', code: 'ENCODE' }), true);
    for (const code of ['BAD_ARGS', 'STALE', 'NOT_FOUND', 'ENOENT', 'OUTSIDE']) assert.equal(retryable({ project: 'p', status: 'failed', code }), false, code);
    assert.equal(retryable({ project: 'p', status: 'cancelled', code: 'CANCELLED' }), false);
    assert.equal(mapPath('/mnt/a/x/p.vidkompy.json', [['/mnt/a', '/srv/share']]), '/srv/share/x/p.vidkompy.json');
    assert.equal(mapPath('/mnt/ab/p.vidkompy.json', [['/mnt/a', '/srv/share']]), '/mnt/ab/p.vidkompy.json', 'whole folder names only');
    assert.deepEqual(summarise([{ project: 'a', status: 'done' }, { project: 'b', status: 'up to date' }]).ok, true);
    assert.deepEqual(summarise([{ project: 'a', status: 'done' }, { project: 'b', status: 'cancelled' }]).ok, false);
  });

  it('finds every project under folders once, skipping hidden folders and node_modules', async () => {
    const root = await tempDir('batch-discover');
    for (const f of ['x/a.vidkompy.json', 'x/y/b.vidkompy.json', '.git/c.vidkompy.json', 'node_modules/d.vidkompy.json', 'x/notes.json']) {
      await fs.mkdir(path.dirname(path.join(root, f)), { recursive: true });
      await fs.writeFile(path.join(root, f), '{}');
    }
    await fs.symlink(path.join(root, 'x'), path.join(root, 'link'));
    const found = await discoverProjects([root, path.join(root, 'x', 'a.vidkompy.json')]);
    assert.deepEqual(found.map((f) => path.relative(root, f)), ['x/a.vidkompy.json', 'x/y/b.vidkompy.json']);
    await assert.rejects(discoverProjects([path.join(root, 'x', 'notes.json')]), /not a project \(\.vidkompy\.json\)/);
  });
});

describe('a local batch', () => {
  it('runs every project on 2 worker processes: outputs written, alignments right against the truth', async () => {
    const r = await localBatch();
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.deepEqual([s.jobs, s.done, s.failed, s.ok], [3, 3, 0, true], r.out);
    for (const { name } of CASES) {
      const res = s.results.find((x: { project: string }) => x.project === path.join(local, name, `${name}.vidkompy.json`));
      assert.equal(res.status, 'done');
      assert.equal(res.aligned, true);
      assert.ok(await writtenByVidkompy(path.join(local, name, 'out.mp4')), `${name}: the output is there, tagged`);
      const pa = JSON.parse(await fs.readFile(alignmentOf(local, name), 'utf8')) as ProjectAlignment;
      const al = fromProjectAlignment(pa, path.join(local, name, `${name}.vidkompy.json`));
      assertAccurate(name, al, truths.get(name)!);
    }
    assert.deepEqual(partialsUnder(local), []);
  });

  it('skips every project the second time: up to date, nothing rewritten', async () => {
    const mtimes = await Promise.all(CASES.map(({ name }) => fs.stat(path.join(local, name, 'out.mp4')).then((s) => s.mtimeMs)));
    const r = await runBin(['batch', local, '--workers', '2']);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.out.split('\n').filter((l) => l.startsWith('up to date')).length, 3, r.out);
    assert.match(r.out, /3 projects: 0 done, 3 up to date, 0 failed/);
    const after = await Promise.all(CASES.map(({ name }) => fs.stat(path.join(local, name, 'out.mp4')).then((s) => s.mtimeMs)));
    assert.deepEqual(after, mtimes);
  });
});

describe('a batch on a job queue (redis-server)', () => {
  let redis: Awaited<ReturnType<typeof startRedis>>;
  before(async () => {
    redis = await startRedis();
    assert.equal((await localBatch()).code, 0);
  });
  after(async () => {
    await redis?.stop();
  });

  it('two workers give byte-identical alignment files; a user error fails at once, naming the file, and status says why', async () => {
    const root = await makeBatch('batch-queue');
    const w1 = startWorker(redis.url);
    const w2 = startWorker(redis.url);
    await Promise.all([whenLine(w1, /waiting for jobs/, 15_000), whenLine(w2, /waiting for jobs/, 15_000)]);
    const r = await runBin(['batch', root, '--queue', redis.url, '--json'], { env: LOCK_ENV });
    assert.equal(r.code, 0, r.err);
    const s = JSON.parse(r.out);
    assert.deepEqual([s.jobs, s.done, s.ok, s.queue], [3, 3, true, redis.url], r.out);
    for (const { name } of CASES) {
      const [mine, theirs] = await Promise.all([fs.readFile(alignmentOf(root, name), 'utf8'), fs.readFile(alignmentOf(local, name), 'utf8')]);
      assert.equal(mine, theirs, `${name}: the same bytes as the local batch`);
      assert.ok(await writtenByVidkompy(path.join(root, name, 'out.mp4')));
    }

    // A project whose fg is missing: no retry (a user's error), the message names the file.
    const broken = await tempDir('batch-broken');
    await fs.copyFile(SAMPLE, path.join(broken, 'bg.mpg'));
    await fs.writeFile(path.join(broken, 'x.vidkompy.json'), JSON.stringify({ bg: 'bg.mpg', fg: 'gone.mp4' }));
    const b = await runBin(['batch', broken, '--queue', redis.url, '--json'], { env: LOCK_ENV });
    assert.equal(b.code, 1, b.err);
    const bs = JSON.parse(b.out);
    assert.equal(bs.failed, 1);
    assert.equal(bs.results[0].attempts, 1, 'not retried');
    assert.match(bs.results[0].error, /gone\.mp4/);
    const st = await runBin(['batch', 'status', '--queue', redis.url, '--json']);
    assert.equal(st.code, 1, 'a failed job in the queue');
    const status = JSON.parse(st.out);
    const failed = status.jobs.find((j: { project: string }) => j.project === path.join(broken, 'x.vidkompy.json'));
    assert.match(failed.result.error, /gone\.mp4/);
    assert.ok(failed.log.some((l: string) => /failed: .*gone\.mp4/.test(l)), JSON.stringify(failed.log));

    // SIGTERM: each worker finishes (it has no job) and exits 0.
    for (const w of [w1, w2]) w.kill('SIGTERM');
    assert.deepEqual(await Promise.all([exited(w1), exited(w2)]), [{ code: 0, signal: null }, { code: 0, signal: null }]);
  });

  it("re-runs a SIGKILLed worker's job on another worker: completed, identical, no partial files", async () => {
    await redis.stop();
    redis = await startRedis(); // an empty queue: only this batch's jobs
    // a renders slowly (veryslow at bg's size, one thread): still rendering when the kill comes.
    const root = await makeBatch('batch-kill', { a: { preset: 'veryslow', canvas: 'bg' } });
    const first = startWorker(redis.url);
    await whenLine(first, /waiting for jobs/, 15_000);
    const batch = bin(['batch', root, '--queue', redis.url, '--json']);
    // Mid-job: the render's partial file has appeared beside a's output.
    const rendering = () => readdirSync(path.join(root, 'a')).some((f) => /^\.out\.partial-\d+-.*\.mp4$/.test(f));
    await whenFiles(path.join(root, 'a'), rendering, 120_000, "a's render to start");
    first.kill('SIGKILL');
    await exited(first);
    const second = startWorker(redis.url);
    await whenLine(second, new RegExp(`started ${path.join(root, 'a').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`), 60_000);
    const r = await batch.done;
    assert.equal(r.code, 0, r.err + r.out);
    const s = JSON.parse(r.out);
    assert.deepEqual([s.done, s.failed], [3, 0], r.out);
    for (const { name } of CASES) {
      assert.equal(await fs.readFile(alignmentOf(root, name), 'utf8'), await fs.readFile(alignmentOf(local, name), 'utf8'), name);
      assert.ok(await writtenByVidkompy(path.join(root, name, 'out.mp4')), name);
    }
    assert.deepEqual(partialsUnder(root), [], 'the killed worker left nothing behind');
    second.kill('SIGTERM');
    assert.equal((await exited(second)).code, 0);
  });

  it('--detach enqueues and returns; status lists the jobs; cancel removes the waiting ones', async () => {
    await redis.stop();
    redis = await startRedis(); // no workers: the jobs wait
    const root = await makeBatch('batch-detach');
    const d = await runBin(['batch', root, '--queue', redis.url, '--detach', '--json']);
    assert.equal(d.code, 0, d.err);
    assert.equal(JSON.parse(d.out).jobs, 3);
    const st = JSON.parse((await runBin(['batch', 'status', '--queue', redis.url, '--json'])).out);
    assert.deepEqual([st.waiting, st.running, st.jobs.length], [3, 0, 3]);
    assert.deepEqual(st.jobs.map((j: { project: string }) => path.relative(root, j.project)).sort(), CASES.map(({ name }) => `${name}/${name}.vidkompy.json`));
    const c = await runBin(['batch', 'cancel', '--queue', redis.url]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, new RegExp(`^removed 3 waiting job\\(s\\) from ${redis.url.replace(/[.]/g, '\\.')}`));
    const after = await runBin(['batch', 'status', '--queue', redis.url]);
    assert.equal(after.out, `no jobs on ${redis.url}\n`);
  });

  it('cancel stops a running job (nothing left behind); SIGTERM lets a worker finish its job, then exit 0', async () => {
    const root = await makeBatch('batch-cancel', { a: { preset: 'veryslow', canvas: 'bg' } });
    const w = startWorker(redis.url);
    await whenLine(w, /waiting for jobs/, 15_000);
    const project = (name: string) => path.join(root, name, `${name}.vidkompy.json`);
    assert.equal((await runBin(['batch', project('a'), '--queue', redis.url, '--detach'])).code, 0);
    await whenLine(w, /^started .*a\.vidkompy\.json/m, 30_000);
    const cancelled = whenLine(w, /^failed .*a\.vidkompy\.json.*: cancelled$/m, 30_000);
    assert.match((await runBin(['batch', 'cancel', '--queue', redis.url])).out, /asked the workers to stop 1 running/);
    await cancelled;
    assert.deepEqual(partialsUnder(root), []);
    assert.ok(!existsSync(path.join(root, 'a', 'out.mp4')));
    const st = JSON.parse((await runBin(['batch', 'status', '--queue', redis.url, '--json'])).out);
    assert.equal(st.jobs.find((j: { project: string }) => j.project === project('a')).result.status, 'cancelled');

    assert.equal((await runBin(['batch', project('b'), '--queue', redis.url, '--detach'])).code, 0);
    await whenLine(w, /^started .*b\.vidkompy\.json/m, 30_000);
    const finished = whenLine(w, /^done .*b\.vidkompy\.json/m, 120_000);
    w.kill('SIGTERM');
    await finished;
    assert.deepEqual(await exited(w), { code: 0, signal: null });
    assert.ok(await writtenByVidkompy(path.join(root, 'b', 'out.mp4')), 'the job in hand was finished');
  });

  it('ends with one line naming the host when Redis stops mid-batch, and fails fast on an address with no Redis', async () => {
    await redis.stop();
    redis = await startRedis();
    const root = await makeBatch('batch-lost');
    const batch = bin(['batch', root, '--queue', redis.url]);
    // Mid-batch: the three jobs are waiting in Redis (no worker takes them).
    const peek = new Redis({ host: '127.0.0.1', port: redis.port, lazyConnect: true });
    await peek.connect();
    try {
      for (let i = 0; (await peek.llen(`bull:${QUEUE_NAME}:wait`)) < 3; i++) {
        assert.ok(i < 300, 'the jobs were never queued');
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      peek.disconnect();
    }
    const t0 = Date.now();
    await redis.stop();
    const r = await batch.done;
    assert.equal(r.code, 1);
    assert.ok(Date.now() - t0 < 15_000, `took ${Date.now() - t0} ms`);
    const lines = r.err.trim().split('\n');
    assert.equal(lines.length, 1, r.err);
    assert.match(lines[0], new RegExp(`^vidkompy: redis://127\\.0\\.0\\.1:${redis.port}: lost the connection to the job queue \\(.+\\); check --queue`));

    const dead = `redis://127.0.0.1:${await freePort()}`;
    for (const args of [['batch', root, '--queue', dead], ['worker', '--queue', dead]]) {
      const t = Date.now();
      const x = await runBin(args);
      assert.equal(x.code, 1, x.err);
      assert.ok(Date.now() - t < 10_000, `${args[0]}: took ${Date.now() - t} ms`);
      const said = `vidkompy: ${dead}: cannot reach the job queue (ECONNREFUSED); check --queue and that redis-server runs there\n`;
      assert.equal(x.err, said);
    }
    const wrong = await runBin(['batch', root, '--queue', 'http://127.0.0.1:1']);
    assert.equal(wrong.code, 1);
    assert.match(wrong.err, /--queue http:\/\/127\.0\.0\.1:1: unknown scheme 'http'; give redis:\/\/HOST:PORT\[\/DB\]/);
    assert.ok(!existsSync(path.join(root, 'a', 'out.mp4')), 'nothing ran');
  });
});
