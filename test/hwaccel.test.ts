import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { countDecodes, decodeStats, decodeTable, recordDecode, setDecodeStage, summarizeDecodes } from '../daemon/media/decodestats';
import { decodeFallbacks, readFrames, runTool } from '../daemon/media/ffmpeg';
import {
  chooseDecoder,
  chooseEncoder,
  encoderArgs,
  parseEncoders,
  parseHwaccels,
  setHwCacheDirectory,
  setHwPreference,
  type RunOutcome,
  type Runner,
} from '../daemon/media/hwaccel';
import { setTools, tools } from '../daemon/media/tools';
import { runBin } from './support/cli';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * No GPU here: detection and fallback are tested against fakes. In-process, a scripted runner stands
 * for ffmpeg; end to end, a shell wrapper in front of the real ffmpeg claims cuda and h264_nvenc and
 * fails (or passes) their trials the way a machine without the driver does.
 */

const HWACCELS_OUT = 'Hardware acceleration methods:\ncuda\nvaapi\n\n';
const ENCODERS_OUT = [' V..... = Video', ' ------', ' V..... libx264              libx264 H.264', ' V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)', ''].join('\n');

/** A runner that answers like an ffmpeg with cuda and NVENC listed, whose trials fail unless told. */
function scripted(o: { decodeOk?: boolean; encodeOk?: boolean } = {}): { run: Runner; calls: string[][] } {
  const calls: string[][] = [];
  const run: Runner = async (args): Promise<RunOutcome> => {
    calls.push(args);
    const ok = (stdout = ''): RunOutcome => ({ code: 0, stdout, stderr: '' });
    if (args.includes('-version')) return ok('ffmpeg version fake-1\nbuilt with gcc\n');
    if (args.includes('-hwaccels')) return ok(HWACCELS_OUT);
    if (args.includes('-encoders')) return ok(ENCODERS_OUT);
    if (args.includes('-hwaccel')) {
      return o.decodeOk ? ok() : { code: 1, stdout: '', stderr: '[AVHWDeviceContext @ 0x1] Cannot load libcuda.so.1\nDevice creation failed: -542398533.\n' };
    }
    if (args.includes('h264_nvenc')) return o.encodeOk ? ok() : { code: 1, stdout: '', stderr: '[h264_nvenc @ 0x2] Cannot load libnvidia-encode.so.1\n' };
    return ok(); // the test clip
  };
  return { run, calls };
}

const has = (calls: string[][], flag: string) => calls.some((c) => c.includes(flag));

describe('hardware decode and encode detection', () => {
  let dir: string;
  before(async () => {
    dir = await tempDir('hwaccel');
  });
  after(() => {
    setHwPreference({});
    setHwCacheDirectory(undefined);
  });

  it('reads the lists ffmpeg prints', () => {
    assert.deepEqual(parseHwaccels(HWACCELS_OUT), ['cuda', 'vaapi']);
    assert.deepEqual(parseHwaccels('Hardware acceleration methods:\n\n'), []);
    assert.deepEqual(parseEncoders(ENCODERS_OUT).filter((n) => n !== '='), ['libx264', 'h264_nvenc']);
  });

  it('falls back to the CPU with the reason when the listed decoder fails its trial, and remembers it on disk', async () => {
    const cache = path.join(dir, 'cache-a');
    setHwCacheDirectory(cache);
    setHwPreference({});
    const a = scripted();
    const d = await chooseDecoder('/fake/ffmpeg', a.run);
    assert.equal(d.name, 'cpu');
    assert.deepEqual(d.args, []);
    assert.match(d.reason, /^cuda: trial decode failed \(Cannot load libcuda\.so\.1\); vaapi: trial decode failed/);
    assert.ok(a.calls.some((c) => c.join(' ').includes('-hwaccel cuda -i file:')), 'a trial decode with -hwaccel cuda');
    // A new process (memory cleared) reads the outcome from the cache folder: no trial again.
    setHwCacheDirectory(cache);
    const b = scripted({ decodeOk: true });
    const again = await chooseDecoder('/fake/ffmpeg', b.run);
    assert.equal(again.reason, d.reason);
    assert.deepEqual(b.calls, [['-hide_banner', '-version']]);
    const files = await fs.readdir(path.join(cache, 'hwaccel'));
    assert.equal(files.length, 1);
  });

  it('uses a decoder that passes, frames back in memory (plain -hwaccel NAME)', async () => {
    setHwCacheDirectory(false);
    const a = scripted({ decodeOk: true });
    const d = await chooseDecoder('/fake/ffmpeg', a.run);
    assert.deepEqual([d.name, d.args, d.reason], ['cuda', ['-hwaccel', 'cuda'], 'cuda: trial decode passed']);
  });

  it('hwaccel none never asks ffmpeg; a name ffmpeg does not offer falls back without a trial', async () => {
    setHwCacheDirectory(false);
    setHwPreference({ hwaccel: 'none' });
    const a = scripted({ decodeOk: true });
    assert.equal((await chooseDecoder('/fake/ffmpeg', a.run)).name, 'cpu');
    assert.deepEqual(a.calls, []);
    setHwPreference({ hwaccel: 'qsv' });
    const b = scripted({ decodeOk: true });
    const d = await chooseDecoder('/fake/ffmpeg', b.run);
    assert.equal(d.name, 'cpu');
    assert.match(d.reason, /does not offer qsv \(its -hwaccels: cuda, vaapi\)/);
    assert.ok(!has(b.calls, '-hwaccel'));
    setHwPreference({});
  });

  it('encodes with x264 when NVENC fails its trial, with NVENC when it passes, and with x264 past 4096 pixels', async () => {
    setHwCacheDirectory(false);
    const a = scripted();
    const e = await chooseEncoder('/fake/ffmpeg', a.run, { width: 640, height: 360, crf: 20, preset: 'veryfast' });
    assert.equal(e.name, 'x264');
    assert.match(e.reason, /^h264_nvenc: trial encode failed \(Cannot load libnvidia-encode\.so\.1\)$/);
    assert.deepEqual(e.args, ['-c:v', 'libx264', '-crf', '20', '-preset', 'veryfast', '-pix_fmt', 'yuv420p']);
    setHwCacheDirectory(false);
    const b = scripted({ encodeOk: true });
    const n = await chooseEncoder('/fake/ffmpeg', b.run, { width: 640, height: 360, crf: 20, preset: 'veryfast' });
    assert.equal(n.name, 'h264_nvenc');
    assert.deepEqual(n.args, encoderArgs('h264_nvenc', 20, 'veryfast'));
    const big = scripted({ encodeOk: true });
    const x = await chooseEncoder('/fake/ffmpeg', big.run, { width: 7680, height: 4320 });
    assert.equal(x.name, 'x264');
    assert.match(x.reason, /7680x4320 is larger than hardware H\.264 encoders take/);
    assert.deepEqual(big.calls, []);
    setHwPreference({ encoder: 'x264' });
    const c = scripted({ encodeOk: true });
    assert.equal((await chooseEncoder('/fake/ffmpeg', c.run, { width: 64, height: 64 })).name, 'x264');
    assert.deepEqual(c.calls, []);
    setHwPreference({});
  });
});

describe('decode counting', () => {
  after(() => countDecodes(false));

  it('counts nothing unless asked, then each decode with its purpose, size, decoder and frames', async () => {
    countDecodes(false);
    assert.equal(recordDecode({ file: 'a', purpose: 'p', stream: 'video', width: 1, height: 1, decoder: 'cpu' }), undefined);
    countDecodes(true);
    setDecodeStage('spatial');
    let n = 0;
    const small = { pixFmt: 'gray', width: 32, height: 18, filter: 'scale=32:18' } as const;
    for await (const f of readFrames({ file: SAMPLE, ...small, maxFrames: 7, what: 'sampling' })) n += f.length > 0 ? 1 : 0;
    setDecodeStage('render');
    const r = recordDecode({ file: SAMPLE, purpose: 'sampling', stream: 'video', width: 32, height: 18, decoder: 'cpu' });
    r!.frames = 3;
    recordDecode({ file: SAMPLE, purpose: 'sound', stream: 'audio', width: 0, height: 0, decoder: 'audio' });
    setDecodeStage(undefined);
    const stats = decodeStats();
    assert.equal(n, 7);
    assert.deepEqual(stats[0], { file: SAMPLE, purpose: 'sampling', stage: 'spatial', stream: 'video', width: 32, height: 18, decoder: 'cpu', frames: 7 });
    const rows = summarizeDecodes([...stats, stats[0]]);
    const want = [['spatial', '32x18', 2, 14], ['render', '32x18', 1, 3], ['render', 'audio', 1, 0]];
    assert.deepEqual(rows.map((s) => [s.stage, s.size, s.decodes, s.frames]), want);
    const table = decodeTable(stats, (f) => path.basename(f)).split('\n');
    assert.match(table[0], /^stage\s+input\s+purpose\s+size\s+decoder\s+decodes\s+frames$/);
    assert.match(table[1], /^spatial\s+cityCC0\.mpg\s+sampling\s+32x18\s+cpu\s+1\s+7$/);
    countDecodes(true);
    assert.deepEqual(decodeStats(), [], 'countDecodes() starts afresh');
  });
});

/** A shell wrapper in front of the real ffmpeg that claims cuda and NVENC; see each mode. */
async function fakeFfmpeg(dir: string, mode: 'trials-fail' | 'decode-breaks'): Promise<{ bin: string; log: string }> {
  const log = path.join(dir, `${mode}.log`);
  const bin = path.join(dir, `ffmpeg-${mode}`);
  const real = tools().ffmpeg;
  // trials-fail: as on a machine without the NVIDIA driver. decode-breaks: the trial passes (run on
  // the CPU), but a real decode with -hwaccel stops after 10 frames of 64x64 grey and fails.
  const hw =
    mode === 'trials-fail'
      ? `echo '[AVHWDeviceContext @ 0x1] Cannot load libcuda.so.1' >&2; echo 'Device creation failed: -542398533.' >&2; exit 1`
      : `case "$*" in *trial.mp4*) exec '${real}' "$@";; esac; '${real}' "$@" | head -c 40960; echo 'hwaccel broke' >&2; exit 1`;
  const script = `#!/bin/sh
printf '%s\\n' "$*" >> '${log}'
case "$*" in
  *" -hwaccels"*) printf 'Hardware acceleration methods:\\ncuda\\n\\n'; exit 0;;
  *" -encoders"*) '${real}' "$@"; echo ' V....D h264_nvenc           NVIDIA NVENC H.264 encoder (codec h264)'; exit 0;;
  *" h264_nvenc "*) echo '[h264_nvenc @ 0x2] Cannot load libnvidia-encode.so.1' >&2; exit 1;;
esac
hw=0
for a; do
  shift
  if [ "$skip" = 1 ]; then skip=0; continue; fi
  if [ "$a" = -hwaccel ]; then skip=1; hw=1; continue; fi
  set -- "$@" "$a"
done
if [ $hw = 1 ]; then ${hw}; fi
exec '${real}' "$@"
`;
  await fs.writeFile(bin, script, { mode: 0o755 });
  return { bin, log };
}

describe('hardware fallback with a fake ffmpeg', () => {
  let dir: string;
  let fg: string;
  before(async () => {
    dir = await tempDir('hwaccel-fake');
    fg = (await derived(SAMPLE, { crop: { x: 150, y: 90, width: 352, height: 224 }, fps: 30, offset: 0.8, frames: 60 })).fg;
  });

  it('a hardware decode that breaks mid-stream is finished on the CPU from where it stopped, frame for frame', async () => {
    const clip = path.join(dir, 'clip.mp4');
    const source = ['-f', 'lavfi', '-i', 'testsrc=s=64x64:r=25:d=1'];
    await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', ...source, '-c:v', 'libx264', '-pix_fmt', 'yuv420p', clip], { file: clip, what: 'fixture' });
    const read = async () => {
      const out: Buffer[] = [];
      for await (const f of readFrames({ file: clip, pixFmt: 'gray', width: 64, height: 64 })) out.push(f);
      return out;
    };
    const before = tools();
    setHwCacheDirectory(false);
    setHwPreference({ hwaccel: 'none' });
    try {
      const cpu = await read();
      const fake = await fakeFfmpeg(dir, 'decode-breaks');
      setTools({ ffmpeg: fake.bin });
      setHwPreference({ hwaccel: 'cuda' });
      const got = await read();
      assert.equal(got.length, cpu.length);
      assert.ok(got.every((f, i) => f.equals(cpu[i])), 'the same frames as a CPU decode');
      assert.match(decodeFallbacks().get(clip) ?? '', /^cuda decoding failed/);
      const calls = (await fs.readFile(fake.log, 'utf8')).split('\n');
      assert.equal(calls.filter((c) => c.includes(' -hwaccel cuda ') && c.includes(clip)).length, 1, 'one hardware attempt');
    } finally {
      setTools(before);
      setHwPreference({});
      setHwCacheDirectory(undefined);
    }
  });

  it('the CLI reports why it fell back and renders with x264; --hwaccel none never asks; an unknown name is a usage error', async () => {
    const fake = await fakeFfmpeg(dir, 'trials-fail');
    const env: NodeJS.ProcessEnv = { ...process.env, VIDKOMPY_FFMPEG: fake.bin, XDG_CACHE_HOME: path.join(dir, 'xdg') };
    delete env.VIDKOMPY_HWACCEL;
    delete env.VIDKOMPY_ENCODER;
    const out = path.join(dir, 'fallback.mp4');
    const r = await runBin(['comp', '--bg', SAMPLE, '--fg', fg, '-o', out, '--preset', 'ultrafast', '--json'], { env });
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out);
    assert.equal(j.decoder, 'cpu');
    assert.match(j.decoderReason, /^cuda: trial decode failed \(Cannot load libcuda\.so\.1\)$/);
    assert.equal(j.encoder, 'x264');
    // The real ffmpeg underneath may list h264_qsv and h264_vaapi too, which fail here for want of a device.
    assert.match(j.encoderReason, /^h264_nvenc: trial encode failed \(Cannot load libnvidia-encode\.so\.1\)(; h264_(qsv|vaapi): trial encode failed [^;]*)*$/);
    const calls = (await fs.readFile(fake.log, 'utf8')).trim().split('\n');
    assert.ok(calls.some((c) => c.includes('-c:v libx264')), 'rendered with x264');
    // (The worktree's own path may contain "-hwaccel": match the option, spaced.)
    assert.ok(!calls.some((c) => c.endsWith('pipe:1') && / -hwaccel /.test(c)), 'no decode asked for the failed hardware');

    await fs.writeFile(fake.log, '');
    const v = await runBin(['sync', '--bg', SAMPLE, '--fg', fg, '-o', path.join(dir, 'none.json'), '--hwaccel', 'none', '-v'], { env });
    assert.equal(v.code, 0, v.err);
    assert.match(v.out, /^decoder: cpu \(hardware decoding off \(hwaccel none\)\)$/m);
    assert.doesNotMatch(await fs.readFile(fake.log, 'utf8'), / -hwaccels?( |$)/m, 'no -hwaccels, no trial');

    const named = await runBin(['sync', '--bg', SAMPLE, '--fg', fg, '-o', path.join(dir, 'cuda.json'), '--hwaccel', 'cuda'], { env });
    assert.equal(named.code, 0, named.err);
    assert.match(named.err, /--hwaccel cuda is not usable here \(cuda: trial decode failed \(Cannot load libcuda\.so\.1\)\); decoded on the CPU/);

    const bad = await runBin(['comp', '--bg', SAMPLE, '--fg', fg, '--hwaccel', 'nvdec'], { env });
    assert.equal(bad.code, 2);
    assert.match(bad.err, /--hwaccel nvdec: expected one of auto, none, cuda, vaapi, qsv, videotoolbox/);
    const badEnc = await runBin(['comp', '--bg', SAMPLE, '--fg', fg, '--encoder', 'nvenc'], { env });
    assert.equal(badEnc.code, 2);
    assert.match(badEnc.err, /--encoder nvenc: expected one of auto, x264, h264_nvenc/);
  });
});
