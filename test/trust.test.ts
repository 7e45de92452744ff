import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { decode as decodeJpeg } from 'jpeg-js';
import { HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { tools } from '../daemon/media/tools';
import { alignRequest, frameRequest, probeRequest, renderRequest, resultRequest, trustNotification } from '../protocol/lsp';
import { ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';
import { failure } from './support/lspClient';

/**
 * The daemon with untrusted input: a workspace in Restricted Mode (no decoder may run on its
 * files) and a committed alignment edited to name another video (the preview must not show it).
 * Wrappers in front of the real ffprobe and ffmpeg record every command line the daemon runs.
 */

const CROP = { x: 150, y: 90, width: 352, height: 224 };
let dir: string;
let probeLog: string;
let ffmpegLog: string;
const clients: TestClient[] = [];
const uriOf = (f: string) => pathToFileURL(f).href;
const lines = async (f: string) => (existsSync(f) ? (await fs.readFile(f, 'utf8')).trim().split('\n').filter(Boolean) : []);

describe('the daemon with untrusted workspaces and alignment files', () => {
  before(async () => {
    ensureBuilt();
    dir = await tempDir('trust');
    const { fg } = await derived(SAMPLE, { crop: CROP, fps: 30, offset: 0.8, frames: 60 });
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    await fs.copyFile(fg, path.join(dir, 'fg.mp4'));
    // The "other" video: solid red, the size and rate of fg, so an alignment naming it looks plausible.
    const redArgs = ['-v', 'error', '-f', 'lavfi', '-i', 'color=c=red:s=352x224:r=30:d=2', '-c:v', 'libx264', '-pix_fmt', 'yuv420p'];
    const red = spawnSync(tools().ffmpeg, [...redArgs, path.join(dir, 'red.mp4')]);
    assert.equal(red.status, 0, String(red.stderr));
    probeLog = path.join(dir, 'ffprobe-calls.log');
    ffmpegLog = path.join(dir, 'ffmpeg-calls.log');
    const probeWrapper = path.join(dir, 'ffprobe-logged');
    const ffmpegWrapper = path.join(dir, 'ffmpeg-logged');
    await fs.writeFile(probeWrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${probeLog}'\nexec '${tools().ffprobe}' "$@"\n`, { mode: 0o755 });
    await fs.writeFile(ffmpegWrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${ffmpegLog}'\nexec '${tools().ffmpeg}' "$@"\n`, { mode: 0o755 });
    // The daemons spawned below inherit these (the tool paths come from the environment).
    process.env.VIDKOMPY_FFPROBE = probeWrapper;
    process.env.VIDKOMPY_FFMPEG = ffmpegWrapper;
  });
  after(async () => {
    for (const c of clients) assert.equal(await c.close(), 0, c.stderr());
  });

  it('in Restricted Mode runs no ffprobe or ffmpeg, still reports the text errors, and checks the media once trusted', async () => {
    const client = await startClient({ root: dir, init: { trusted: false } });
    clients.push(client);
    const syntax = client.open(path.join(dir, 'syntax.vidkompy.json'), '{ "bg": "bg.mpg", "fg": \n');
    const d1 = await client.diagnostics(syntax, (p) => p.diagnostics.length > 0);
    assert.ok(d1.diagnostics.some((d) => d.code === 'syntax'), JSON.stringify(d1));

    const file = path.join(dir, 'r.vidkompy.json');
    const text = JSON.stringify({ bg: 'bg.mpg', fg: 'missing.mp4', engine: 'nope' }, null, 2) + '\n';
    await fs.writeFile(file, text);
    const uri = client.open(file, text);
    // A missing file is still said (a stat decodes nothing); nothing is probed.
    const d2 = await client.diagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'ENOENT'));
    assert.ok(d2.diagnostics.some((d) => d.code === 'schema'), JSON.stringify(d2));
    assert.match(String(d2.diagnostics.find((d) => d.code === 'ENOENT')?.message), /missing\.mp4/);

    const hover = await client.conn.sendRequest(HoverRequest.type, { textDocument: { uri }, position: { line: 1, character: 10 } });
    assert.doesNotMatch((hover?.contents as MarkupContent | undefined)?.value ?? '', /frames|fps/, 'no probe summary in a hover');

    for (const req of [
      client.conn.sendRequest(probeRequest, { uri: uriOf(path.join(dir, 'bg.mpg')) }),
      client.conn.sendRequest(alignRequest, { project: uri }),
      client.conn.sendRequest(renderRequest, { project: uri }),
      client.conn.sendRequest(resultRequest, { project: uri }),
      client.conn.sendRequest(frameRequest, { project: uri, fgFrame: 0, width: 100 }),
    ]) {
      const e = await failure(req);
      assert.equal(e.data?.code, 'UNTRUSTED');
      assert.match(e.message, /not trusted \(Restricted Mode\)/);
    }
    assert.deepEqual(await lines(probeLog), [], 'ffprobe never ran');
    assert.deepEqual(await lines(ffmpegLog), [], 'ffmpeg never ran');

    // Trust granted in the session: the media checks run (the wrapper proves they go through it).
    void client.conn.sendNotification(trustNotification, { trusted: true });
    // The wrapper's log is the only sign of the probe: wait for it, bounded.
    for (const end = Date.now() + 30_000; !(await lines(probeLog)).some((l) => l.includes('bg.mpg')); ) {
      assert.ok(Date.now() < end, 'bg probed once trusted');
      await new Promise((r) => setTimeout(r, 50));
    }
  });

  it('never previews a file that only the alignment file names', async () => {
    const client = await startClient({ root: dir });
    clients.push(client);
    const file = path.join(dir, 'p.vidkompy.json');
    await fs.writeFile(file, JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4', spatial: { x: 150, y: 90, scale: 1 } }, null, 2) + '\n');
    const project = uriOf(file);
    await client.conn.sendRequest(alignRequest, { project });
    const honest = await client.conn.sendRequest(frameRequest, { project, fgFrame: 10, width: 200 });
    const fgImg = decodeJpeg(Buffer.from(honest.fg.split(',')[1], 'base64'));
    const px = (img: { data: Uint8Array; width: number; height: number }) => {
      const i = 4 * (Math.floor(img.height / 2) * img.width + Math.floor(img.width / 2));
      return [img.data[i], img.data[i + 1], img.data[i + 2]];
    };
    const isRed = ([r, g, b]: number[]) => r > 200 && g < 60 && b < 60;
    assert.ok(!isRed(px(fgImg)), 'the real fg is not solid red');

    // Someone edits the committed alignment to name the red video, hash and all.
    const alFile = path.join(dir, 'p.vidkompy.align.json');
    const al = JSON.parse(await fs.readFile(alFile, 'utf8')) as { inputs: { fg: { file: string; sha256: string; size: number } } };
    const { createHash } = await import('node:crypto');
    const redBytes = await fs.readFile(path.join(dir, 'red.mp4'));
    al.inputs.fg = { ...al.inputs.fg, file: 'red.mp4', sha256: createHash('sha256').update(redBytes).digest('hex'), size: redBytes.length };
    await fs.writeFile(alFile, JSON.stringify(al, null, 2) + '\n');
    await fs.rm(ffmpegLog, { force: true });
    await fs.rm(probeLog, { force: true });

    const view = await client.conn.sendRequest(resultRequest, { project });
    assert.ok(view);
    assert.equal(view.stale, true, 'an alignment of other inputs is stale');
    assert.equal(view.fg.uri, uriOf(path.join(dir, 'fg.mp4')), "the view names the project's fg");
    const e = await failure(client.conn.sendRequest(frameRequest, { project, fgFrame: 10, width: 200 }));
    assert.equal(e.data?.code, 'STALE');
    assert.match(e.message, /fg is now "fg\.mp4" \(was "red\.mp4"\)/);
    const opened = [...(await lines(ffmpegLog)), ...(await lines(probeLog))];
    assert.ok(!opened.some((l) => l.includes('red.mp4')), `red.mp4 was never opened: ${opened.join('\n')}`);
  });
});
