import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, promises as fs, readdirSync, watch } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CHUNK_MARK, PARTIAL_MARK } from '../protocol/project';
import { chunkFile, planChunks, sweepChunks } from '../daemon/engine';
import { ffmpegPath, readAudio, readFrames, runTool } from '../daemon/media/ffmpeg';
import { probe, writtenByVidkompy } from '../daemon/media/probe';
import { readFramesFrom, seekPoint } from '../daemon/media/seek';
import { framesAt } from '../daemon/media/decode';
import { BIN, runBin, type CliResult } from './support/cli';
import { CACHE, derived, HAVE_SHARED, media, SAMPLE, tempDir } from './support/media';
import { extractFeatures } from '../daemon/engine/descriptors/frames';
import type { FeatureSeq } from '../daemon/engine/descriptors/types';
import { countDecodes, decodeStats } from '../daemon/media/decodestats';
import { collect, exited, printedBy, startRedis, whenFiles, whenLine, type RedisServer } from './support/queue';

/**
 * One long render split into time chunks: rendered by two `vidkompy worker`s on a real redis-server
 * (one of them SIGKILLed mid-chunk in one case), by the local pool, failed and cancelled, and
 * checked against a single-worker render of the same project: the same frame count, every frame
 * around each join the same picture within the encoder's tolerance and in the same place, timestamps
 * running on at one frame per frame, the sound there once for the whole length, and no chunk or
 * partial file left behind. Needs the built CLI (node scripts/build.mjs). Waits are on events
 * (a line, a file), bounded generously: a chunk renders for seconds on an idle machine, far longer
 * on a loaded one.
 */

const W = 320;
const H = 240;
const FPS = 25;
const FRAMES = 750; // 30 s of fg
const CHUNK_SECONDS = 8; // 3 chunks of 250 frames
const RANGES = planChunks(FRAMES, FPS, CHUNK_SECONDS)!;
const JOINS = RANGES.slice(1).map((r) => r.from);

/** A 40 s bg with sound (testsrc2 under temporal noise: every frame its own picture), made once. */
async function syntheticBg(): Promise<string> {
  const out = path.join(CACHE, `chunks-bg-${W}x${H}-v1.mp4`);
  if (existsSync(out)) return out;
  await fs.mkdir(CACHE, { recursive: true });
  const temp = `${out}.partial-${process.pid}.mp4`;
  const args = ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=${W}x${H}:r=${FPS}:d=40`, '-f', 'lavfi', '-i', 'sine=f=330:beep_factor=4:d=40'];
  args.push('-vf', 'noise=alls=12:allf=t', '-c:v', 'libx264', '-preset', 'veryfast', '-g', '50', '-c:a', 'aac', '-shortest', ffmpegPath(temp));
  await runTool('ffmpeg', args, { file: temp, what: 'making a synthetic bg' });
  await fs.rename(temp, out);
  return out;
}

let source: string; // a project folder aligned and rendered whole: the reference
let reference: string;

/** A copy of the aligned project (alignment included, output not), with these render options. */
async function project(prefix: string, render: Record<string, unknown> = { preset: 'ultrafast' }): Promise<string> {
  const dir = await tempDir(prefix);
  for (const f of ['bg.mp4', 'fg.mp4', 'p.vidkompy.align.json']) await fs.copyFile(path.join(source, f), path.join(dir, f));
  await fs.writeFile(path.join(dir, 'p.vidkompy.json'), JSON.stringify({ bg: 'bg.mp4', fg: 'fg.mp4', output: 'out.mp4', render }, null, 2) + '\n');
  return dir;
}

const leftovers = (dir: string) => readdirSync(dir).filter((f) => f.includes(CHUNK_MARK) || f.includes(PARTIAL_MARK) || f.includes('.concat'));

const psnr = (a: Uint8Array, b: Uint8Array) => {
  let se = 0;
  for (let i = 0; i < a.length; i++) se += (a[i] - b[i]) ** 2;
  return se === 0 ? 99 : 10 * Math.log10((255 * 255 * a.length) / se);
};

/** Luma of the frames at `wanted` indices, and how many frames there are. */
async function lumaAt(file: string, wanted: Set<number>): Promise<{ frames: Map<number, Uint8Array>; count: number }> {
  const frames = new Map<number, Uint8Array>();
  let count = 0;
  for await (const f of readFrames({ file, pixFmt: 'gray', width: W, height: H })) {
    if (wanted.has(count)) frames.set(count, Uint8Array.from(f));
    count++;
  }
  return { frames, count };
}

async function streams(file: string): Promise<{ codec_type: string; nb_read_frames?: string; duration?: string }[]> {
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-count_frames', '-show_entries', 'stream=codec_type,nb_read_frames,duration', '-of', 'json', ffmpegPath(file)], { file, what: 'probing' });
  return JSON.parse(stdout.toString('utf8')).streams;
}

async function sound(file: string): Promise<Float32Array> {
  const parts: Float32Array[] = [];
  for await (const s of readAudio({ file, sampleRate: 8000 })) parts.push(s);
  const out = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * `out` is the same render as the reference: as many frames; around every join (and at every 25th
 * frame) each frame is the reference's picture within the encoder's tolerance and not its
 * neighbour's; the video's timestamps step one frame at a time; one sound track, as long as the
 * reference's and the same.
 */
async function assertSameRender(out: string, joins = JOINS): Promise<void> {
  assert.ok(await writtenByVidkompy(out), 'tagged as vidkompy wrote it');
  const wanted = new Set<number>();
  for (const j of joins) for (let i = j - 4; i <= j + 4; i++) wanted.add(i);
  for (let i = 0; i < FRAMES; i += 25) wanted.add(i);
  const [mine, theirs] = await Promise.all([lumaAt(out, wanted), lumaAt(reference, new Set([...wanted].flatMap((i) => [i - 1, i, i + 1])))]);
  assert.equal(mine.count, FRAMES, 'frame count');
  assert.equal(theirs.count, FRAMES);
  for (const i of [...wanted].sort((a, b) => a - b)) {
    const same = psnr(mine.frames.get(i)!, theirs.frames.get(i)!);
    assert.ok(same >= 38, `frame ${i}: PSNR ${same.toFixed(1)} dB against the single-worker render`);
    for (const n of [i - 1, i + 1]) {
      if (!theirs.frames.has(n)) continue;
      const other = psnr(mine.frames.get(i)!, theirs.frames.get(n)!);
      assert.ok(same > other + 6, `frame ${i} is the reference's frame ${i} (${same.toFixed(1)} dB), not ${n} (${other.toFixed(1)} dB)`);
    }
  }
  const { stdout } = await runTool('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-show_entries', 'packet=pts_time,dts_time', '-of', 'csv=p=0', ffmpegPath(out)], { file: out, what: 'reading timestamps' });
  const packets = stdout.toString('utf8').trim().split('\n').map((l) => l.split(',').map(Number));
  const pts = packets.map((p) => p[0]).sort((a, b) => a - b);
  assert.equal(pts.length, FRAMES);
  assert.ok(Math.abs(pts[0]) < 1e-6, `starts at ${pts[0]}`);
  for (let i = 1; i < pts.length; i++) assert.ok(Math.abs(pts[i] - pts[i - 1] - 1 / FPS) < 1e-4, `pts ${pts[i - 1]} → ${pts[i]} at frame ${i}`);
  for (let i = 1; i < packets.length; i++) assert.ok(packets[i][1] > packets[i - 1][1], `dts ${packets[i - 1][1]} → ${packets[i][1]} at packet ${i}`);
  const [s, r] = await Promise.all([streams(out), streams(reference)]);
  const audio = s.filter((x) => x.codec_type === 'audio');
  assert.equal(audio.length, 1, 'one sound track');
  const dur = Number(audio[0].duration);
  assert.ok(Math.abs(dur - FRAMES / FPS) < 0.05, `sound lasts ${dur} s`);
  assert.ok(Math.abs(dur - Number(r.find((x) => x.codec_type === 'audio')!.duration)) < 0.03);
  const [a, b] = await Promise.all([sound(out), sound(reference)]);
  assert.ok(Math.abs(a.length - b.length) <= 8, `${a.length} vs ${b.length} samples`);
  let diff = 0;
  let level = 0;
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    diff += (a[i] - b[i]) ** 2;
    level += b[i] ** 2;
  }
  assert.ok(level > 0 && diff / level < 1e-3, `the reference's sound (relative error ${(diff / level).toExponential(1)})`);
}

// A killed worker's chunk is taken over after about twice this; long enough that a loaded machine's
// slow event loop never looks like a dead worker.
const LOCK_ENV = { ...process.env, VIDKOMPY_QUEUE_LOCK_MS: '5000' };
const workers: ChildProcess[] = [];
function startWorker(url: string): ChildProcess {
  const w = collect(spawn(process.execPath, [BIN, 'worker', '--queue', url, '--threads', '1'], { env: LOCK_ENV, stdio: ['ignore', 'pipe', 'pipe'] }));
  workers.push(w);
  return w;
}

function bin(args: string[]): Promise<CliResult> {
  return runBin(args, { env: LOCK_ENV });
}

before(async () => {
  const bg = await syntheticBg();
  const { fg } = await derived(bg, { crop: { x: 64, y: 48, width: 192, height: 144 }, offset: 3, frames: FRAMES });
  source = await tempDir('chunks-source');
  await fs.copyFile(bg, path.join(source, 'bg.mp4'));
  await fs.copyFile(fg, path.join(source, 'fg.mp4'));
  await fs.writeFile(path.join(source, 'p.vidkompy.json'), JSON.stringify({ bg: 'bg.mp4', fg: 'fg.mp4', output: 'out.mp4', render: { preset: 'ultrafast' } }));
  // The single-worker render: one process, the whole fg, no chunks.
  const r = await runBin(['run', path.join(source, 'p.vidkompy.json')]);
  assert.equal(r.code, 0, r.err);
  reference = path.join(source, 'out.mp4');
});

after(() => {
  for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGKILL');
});

describe('reading from a frame on', () => {
  it('seeks where frame times allow it, else decodes from the start: the same frames either way', async () => {
    for (const file of [await syntheticBg(), SAMPLE]) {
      const info = await probe(file);
      const all: Buffer[] = [];
      for await (const f of readFrames({ file, pixFmt: 'gray', width: 64, height: 48, filter: 'scale=64:48' })) all.push(Buffer.from(f));
      for (const from of [90, all.length - 3]) {
        assert.ok(await seekPoint(file, from, all.length), `${path.basename(file)}: frame ${from} is reached by a seek`);
        // A count that differs from the packets' (a damaged stream) is decoded from the start.
        assert.equal(await seekPoint(file, from, all.length + 1), undefined);
        for (const total of [all.length, all.length + 1]) {
          let k = from;
          for await (const f of readFramesFrom({ file, pixFmt: 'gray', width: 64, height: 48, filter: 'scale=64:48', from, total, fps: info.fps })) {
            assert.ok(f.equals(all[k]), `${path.basename(file)}: frame ${k} read from ${from} (total ${total})`);
            if (++k === from + 20) break;
          }
          assert.equal(k, Math.min(from + 20, all.length));
        }
      }
    }
  });

  it('frames at given times: far-apart stretches read by seeks a few at a time, near ones by one decoder, the sequential decode\'s frames in the order asked', async () => {
    const file = await syntheticBg();
    const info = await probe(file);
    // Six stretches more than 4 s apart (twice the readers at once), one of them three frames long,
    // asked out of order and with a repeat.
    const at = (i: number) => i / FPS;
    const wanted = [875, 25, 175, 176, 177, 350, 525, 700, 25].map(at);
    const byTime = new Map<number, Buffer>();
    let t = NaN;
    for await (const f of readFrames({ file, pixFmt: 'gray', width: W, height: H, onTime: (v) => (t = v) })) {
      if (wanted.some((w) => Math.abs(w - t) < 0.2 / FPS)) byTime.set(wanted.find((w) => Math.abs(w - t) < 0.2 / FPS)!, Buffer.from(f));
    }
    countDecodes(true);
    let got: (Uint8Array | undefined)[];
    let reads: ReturnType<typeof decodeStats>;
    try {
      got = await framesAt(info, wanted);
      reads = decodeStats().filter((d) => d.file === file);
    } finally {
      countDecodes(false);
    }
    wanted.forEach((w, k) => assert.ok(got[k] && Buffer.from(got[k]!).equals(byTime.get(w)!), `the frame at ${w.toFixed(2)} s`));
    assert.equal(reads.length, 6, `one read per stretch: ${JSON.stringify(reads.map((d) => d.purpose))}`);
    assert.equal(reads.reduce((n, d) => n + d.frames, 0), 8, 'only the wanted frames leave ffmpeg');
    // A cancelled request fails as cancelled, and starts no further read.
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(framesAt(info, wanted, { signal: stop.signal }), /cancel/i);
  });

  it('an analysis decode split in two side by side is the whole decode, frames and times; short videos stay whole', async () => {
    const files = [await syntheticBg(), ...(HAVE_SHARED ? [media('vtest.avi')] : [])];
    const decodes = async (run: () => Promise<FeatureSeq>) => {
      countDecodes(true);
      try {
        const seq = await run();
        return { seq, decodes: decodeStats().filter((d) => d.purpose === 'decoding for alignment').map((d) => d.frames) };
      } finally {
        countDecodes(false);
      }
    };
    for (const file of [...files, SAMPLE]) {
      const info = await probe(file);
      const region = { x: 10, y: 8, width: 300, height: 220 };
      const whole = await decodes(() => extractFeatures(file, region, 48, 36, info.frameCount));
      const split = await decodes(() => extractFeatures(file, region, 48, 36, info.frameCount, undefined, undefined, Promise.resolve()));
      const name = path.basename(file);
      assert.equal(whole.decodes.length, 1, name);
      // cityCC0.mpg is 7.6 s: too short to be worth a second decoder.
      assert.equal(split.decodes.length, file === SAMPLE ? 1 : 2, `${name}: ${JSON.stringify(split.decodes)}`);
      assert.equal(split.decodes.reduce((a, b) => a + b, 0), whole.seq.n, `${name}: each frame decoded for the caller once`);
      assert.equal(split.seq.n, whole.seq.n, name);
      assert.ok(whole.seq.n > 0 && whole.seq.times.length === whole.seq.n, name);
      assert.deepEqual(split.seq.times, whole.seq.times, `${name}: the same times`);
      assert.ok(Buffer.from(split.seq.data).equals(Buffer.from(whole.seq.data)), `${name}: the same pixels`);
    }
  });

  it('plans chunks only for renders of at least two, and names them beside the output', async () => {
    assert.deepEqual(RANGES, [{ from: 0, to: 250 }, { from: 250, to: 500 }, { from: 500, to: 750 }]);
    assert.equal(planChunks(399, 25, 8), undefined, 'under 2 × 8 s: one piece');
    assert.equal(planChunks(FRAMES, FPS, 0), undefined, '0: never');
    const dir = await tempDir('chunks-names');
    const out = path.join(dir, 'out.mp4');
    assert.equal(chunkFile(out, '17', 2), path.join(dir, `.out${CHUNK_MARK}17-0002.mp4`));
    for (const f of [chunkFile(out, '17', 0), chunkFile(out, '18', 0), path.join(dir, 'keep.mp4')]) await fs.writeFile(f, '');
    sweepChunks(out, '18');
    assert.deepEqual(readdirSync(dir).sort(), [path.basename(chunkFile(out, '18', 0)), 'keep.mp4']);
    assert.throws(() => chunkFile(out, '../x', 0), /not a chunk id/);
  });
});

describe('a render split into chunks', () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('on two queue workers: the same frames, joins and sound as one worker, nothing left behind', async () => {
    const dir = await project('chunks-queue');
    const ws = [startWorker(redis.url), startWorker(redis.url)];
    await Promise.all(ws.map((w) => whenLine(w, /waiting for jobs/, 30_000)));
    const r = await bin(['batch', dir, '--queue', redis.url, '--chunk-seconds', String(CHUNK_SECONDS), '--json']);
    assert.equal(r.code, 0, r.err + r.out);
    const s = JSON.parse(r.out);
    assert.deepEqual([s.jobs, s.done, s.results[0].chunks], [1, 1, 3], r.out);
    // Both workers rendered chunks.
    for (const w of ws) await whenLine(w, /^done chunk \d\/3 of /m, 1000);
    await assertSameRender(path.join(dir, 'out.mp4'));
    assert.deepEqual(leftovers(dir), []);
    const st = JSON.parse((await bin(['batch', 'status', '--queue', redis.url, '--json'])).out);
    assert.deepEqual(st.jobs.map((j: { project: string }) => j.project), [path.join(dir, 'p.vidkompy.json')], 'chunks are not jobs of their own in status');
    for (const w of ws) w.kill('SIGTERM');
    await Promise.all(ws.map(exited));
  });

  it('re-renders a chunk whose worker was SIGKILLed on another worker: one copy of each frame, nothing left behind', async () => {
    const dir = await project('chunks-kill', { preset: 'medium' });
    const first = startWorker(redis.url);
    await whenLine(first, /waiting for jobs/, 30_000);
    const batch = bin(['batch', dir, '--queue', redis.url, '--chunk-seconds', String(CHUNK_SECONDS), '--json']);
    const rendering = () => readdirSync(dir).some((f) => f.includes(CHUNK_MARK) && f.includes(PARTIAL_MARK));
    await whenFiles(dir, rendering, 300_000, 'a chunk to be rendering');
    first.kill('SIGKILL');
    await exited(first);
    const ws = [startWorker(redis.url), startWorker(redis.url)];
    const r = await batch;
    assert.equal(r.code, 0, r.err + r.out);
    assert.equal(JSON.parse(r.out).results[0].chunks, 3);
    assert.match(ws.map(printedBy).join('\n'), /^started chunk 1\/3 of /m, 'the killed chunk ran again, on another worker');
    await assertSameRender(path.join(dir, 'out.mp4'));
    assert.deepEqual(leftovers(dir), [], 'the killed chunk left no partial and no second copy');
    for (const w of ws) w.kill('SIGTERM');
    await Promise.all(ws.map(exited));
  });

  it('a chunk that fails fails the project with its reason, and the chunks already made are removed', async () => {
    const dir = await project('chunks-fail', { preset: 'medium' });
    const w = startWorker(redis.url);
    await whenLine(w, /waiting for jobs/, 30_000);
    const batch = bin(['batch', dir, '--queue', redis.url, '--chunk-seconds', String(CHUNK_SECONDS), '--json']);
    const made = () => readdirSync(dir).some((f) => /^\.out\.chunk-.+-0000\.mp4$/.test(f));
    await whenFiles(dir, made, 300_000, 'the first chunk');
    // The worker can no longer read fg: every chunk not started yet fails, a user's error.
    await fs.rm(path.join(dir, 'fg.mp4'));
    const r = await batch;
    assert.equal(r.code, 1, r.out + r.err);
    const res = JSON.parse(r.out).results[0];
    const said = `${JSON.stringify(res)}; the worker said: ${printedBy(w)}`;
    assert.equal(res.status, 'failed', said);
    assert.match(res.error, /fg\.mp4/, said);
    assert.deepEqual(leftovers(dir), [], said);
    assert.ok(!existsSync(path.join(dir, 'out.mp4')));
    w.kill('SIGTERM');
    await exited(w);
  });

  it('batch cancel stops a split render: running chunk stopped, chunks removed, the project cancelled', async () => {
    const dir = await project('chunks-cancel', { preset: 'medium' });
    const w = startWorker(redis.url);
    await whenLine(w, /waiting for jobs/, 30_000);
    const batch = bin(['batch', dir, '--queue', redis.url, '--chunk-seconds', String(CHUNK_SECONDS), '--json']);
    const made = () => readdirSync(dir).some((f) => /^\.out\.chunk-.+-0000\.mp4$/.test(f));
    await whenFiles(dir, made, 300_000, 'the first chunk');
    const c = await bin(['batch', 'cancel', '--queue', redis.url]);
    assert.equal(c.code, 0, c.err);
    assert.match(c.out, /asked the workers to stop 1 running/);
    const r = await batch;
    assert.equal(r.code, 1, r.out);
    assert.equal(JSON.parse(r.out).results[0].status, 'cancelled');
    assert.deepEqual(leftovers(dir), []);
    assert.ok(!existsSync(path.join(dir, 'out.mp4')));
    w.kill('SIGTERM');
    await exited(w);
  });

  it('on the local pool with --workers 2: the same render, nothing left behind', async () => {
    const dir = await project('chunks-local');
    // The writers of the chunks, by the pid in their partial files' names.
    const writers = new Set<string>();
    const seen = watch(dir, (_, f) => {
      const pid = f && f.includes(CHUNK_MARK) ? /\.partial-(\d+)-/.exec(f)?.[1] : undefined;
      if (pid) writers.add(pid);
    });
    const r = await bin(['batch', dir, '--workers', '2', '--chunk-seconds', String(CHUNK_SECONDS), '--json']);
    seen.close();
    assert.equal(r.code, 0, r.err + r.out);
    assert.equal(writers.size, 2, 'two worker processes rendered the chunks');
    assert.equal(JSON.parse(r.out).results[0].chunks, 3);
    await assertSameRender(path.join(dir, 'out.mp4'));
    assert.deepEqual(leftovers(dir), []);
  });

  it('Ctrl-C stops a local split render: exit 130, its chunks and partial files removed', async () => {
    const dir = await project('chunks-sigint', { preset: 'medium' });
    const child = collect(spawn(process.execPath, [BIN, 'batch', dir, '--workers', '2', '--chunk-seconds', String(CHUNK_SECONDS)], { stdio: ['ignore', 'pipe', 'pipe'] }));
    const made = () => readdirSync(dir).some((f) => /^\.out\.chunk-.+-\d{4}\.mp4$/.test(f));
    await whenFiles(dir, made, 300_000, 'a chunk');
    child.kill('SIGINT');
    assert.equal((await exited(child)).code, 130);
    // The job processes clean up after their parent has gone: waited for, not assumed.
    await whenFiles(dir, () => leftovers(dir).length === 0, 30_000, 'the chunk files to be removed');
    assert.ok(!existsSync(path.join(dir, 'out.mp4')));
  });
});
