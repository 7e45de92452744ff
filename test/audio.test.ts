import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { align } from '../daemon/engine/align';
import { audioEnvelope, audioPrior, ENVELOPE_RATE } from '../daemon/engine/temporal/audio';
import { VidkompyError } from '../daemon/core/errors';
import { runTool } from '../daemon/media/ffmpeg';
import { score } from './support/accuracy';
import { CACHE, derived, SAMPLE } from './support/media';

/**
 * The audio prior. bg is the bundled clip looped four times (30.4 s) with a pink-noise track: the
 * picture repeats every 7.6 s, the sound never does — so only the sound tells the loops apart.
 */
let looped: string;
/** The looped picture's period, seconds (the sample's length). */
const LOOP = 7.6;

before(async () => {
  looped = path.join(CACHE, 'looped-noise-v1.mp4');
  if (existsSync(looped)) return;
  // On a fresh machine this may run before any other test has made the cache folder.
  await (await import('node:fs/promises')).mkdir(CACHE, { recursive: true });
  const temp = `${looped}.partial-${process.pid}.mp4`;
  await runTool(
    'ffmpeg',
    ['-nostdin', '-v', 'error', '-y', '-stream_loop', '3', '-i', SAMPLE, '-f', 'lavfi', '-i', 'anoisesrc=d=30.4:c=pink:seed=7:a=0.3', '-map', '0:v', '-map', '1:a', '-shortest', '-vf', 'crop=720:404:0:0', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-c:a', 'aac', temp],
    { file: temp, what: 'making the looped clip' },
  );
  await (await import('node:fs/promises')).rename(temp, looped);
});

describe('audio prior', () => {
  it('decodes through media/ffmpeg.ts: a file without sound, a missing file and a cancel reject with a readable error', async () => {
    const failsWith = (code: string, ...parts: RegExp[]) => (e: unknown) => {
      assert.ok(e instanceof VidkompyError, String(e));
      assert.equal(e.code, code, e.message);
      for (const p of parts) assert.match(e.message, p);
      return true;
    };
    // The bundled sample has no audio stream: an error naming it, not an empty envelope.
    await assert.rejects(audioEnvelope(SAMPLE), failsWith('DECODE', /cityCC0\.mpg/, /matches no streams/));
    await assert.rejects(audioEnvelope(path.join(CACHE, 'no-such-clip.mp4')), failsWith('ENOENT', /no-such-clip\.mp4: file not found/));
    const stop = new AbortController();
    stop.abort();
    await assert.rejects(audioEnvelope(looped, stop.signal), failsWith('CANCELLED'));
  });

  it('finds the start offset and the drift from the sound alone', async () => {
    const { fg } = await derived(looped, { crop: { x: 100, y: 60, width: 400, height: 240 }, offset: 1.2, speed: 1.02, frames: 600, audio: true });
    const [f, b] = await Promise.all([audioEnvelope(fg), audioEnvelope(looped)]);
    assert.ok(Math.abs(b.length / ENVELOPE_RATE - 30.4) < 0.1, `bg envelope covers the clip: ${b.length}`);
    const p = audioPrior(f, b);
    assert.ok(p, 'found');
    assert.ok(p.windows.length >= 3, `${p.windows.length} windows`);
    assert.ok(Math.abs(p.offset - 1.2) < 0.03, `offset ${p.offset}`);
    assert.ok(Math.abs(p.slope - 1.02) < 0.003, `speed ${p.slope}`);
    assert.equal(p.agreement, 1);
  });

  it('tells repeated footage apart where the picture cannot', async (t) => {
    // fg from the third loop: every frame of it also appears 7.6 s and 15.2 s earlier.
    const { fg, truth } = await derived(looped, { crop: { x: 100, y: 60, width: 400, height: 240 }, offset: 17, fps: 30, frames: 100, audio: true });
    const withSound = await align(looped, fg);
    const s = score(withSound, truth);
    assert.ok(withSound.temporal.audio && Math.abs(withSound.temporal.audio.offset - 17) < 0.05, JSON.stringify(withSound.temporal.audio));
    assert.ok(s.within1 >= 0.95, `with the audio prior: ${JSON.stringify(s)}`);
    const pictureOnly = await align(looped, fg, { audioPrior: false });
    t.diagnostic(`picture only: ${JSON.stringify(score(pictureOnly, truth))} (offset ${pictureOnly.temporal.offsetSeconds} s, truth 17 s)`);
  });

  it('ignores sound that does not match; the repeating picture is then refused as ambiguous, not guessed', async () => {
    // fg carries the sample's picture but other sound: the prior must not be trusted. bg's picture
    // repeats every 7.6 s, so without the sound the frames fit every loop alike: the alignment must
    // say so and name the places (a 4 s window of unrelated noise once "matched" bg's at NCC 0.31,
    // the best of thousands of positions, and the prior then picked a loop by chance).
    const { fg } = await derived(looped, { crop: { x: 100, y: 60, width: 400, height: 240 }, offset: 2, frames: 120, audio: true });
    const other = path.join(CACHE, `mismatched-${path.basename(fg)}`);
    if (!existsSync(other)) {
      await runTool('ffmpeg', ['-nostdin', '-v', 'error', '-y', '-i', fg, '-f', 'lavfi', '-i', 'anoisesrc=d=5:c=pink:seed=99:a=0.3', '-map', '0:v', '-map', '1:a', '-shortest', '-c:v', 'copy', '-c:a', 'aac', other], { file: other, what: 'fixture' });
    }
    const al = await align(looped, other);
    assert.ok(!al.temporal.audio || al.temporal.audio.agreement < 0.5, `unrelated sound is not evidence: ${JSON.stringify(al.temporal.audio)}`);
    const t = al.trust!;
    assert.equal(t.problem, 'ambiguous', JSON.stringify(t));
    const places = [al.temporal.offsetSeconds, ...(t.places ?? [])];
    assert.ok(new Set(places.map((p) => Math.round(p))).size >= 2, `names another place: ${JSON.stringify(t)}`);
    // Every place named is fg's own start (2 s) a whole number of loops on.
    for (const p of places) assert.ok(Math.abs(((p - 2 + 0.4 * LOOP) % LOOP) - 0.4 * LOOP) < 0.25, `${p} s is a loop of 2 s: ${JSON.stringify(places)}`);
  });
});
