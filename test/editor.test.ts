import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  CodeActionRequest,
  CodeActionResolveRequest,
  CompletionRequest,
  DiagnosticSeverity,
  HoverRequest,
  ShowMessageNotification,
  type CodeAction,
  type CompletionItem,
  type Hover,
  type ShowMessageParams,
} from 'vscode-languageserver-protocol/node';
import { inWordsOf, VidkompyError } from '../daemon/core/errors';
import { ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';

/**
 * The editor speaks with one voice and in the user's words: the daemon alone validates project
 * files (errors at the exact range, quick fixes for typos), hovers and completes once, and offers
 * the spatial action only where it applies, failing in words rather than a raw error.
 */

let dir: string;
let client: TestClient;
const messages: ShowMessageParams[] = [];
let onMessage: (() => void) | undefined;

function at(text: string, needle: string): { start: { line: number; character: number }; end: { line: number; character: number } } {
  const offset = text.indexOf(needle);
  assert.ok(offset >= 0, needle);
  const doc = TextDocument.create('file:///x', 'json', 1, text);
  return { start: doc.positionAt(offset), end: doc.positionAt(offset + needle.length) };
}

describe('one voice, the user\'s words', () => {
  before(async () => {
    ensureBuilt();
    dir = await tempDir('editor');
    const { fg } = await derived(SAMPLE, { crop: { x: 150, y: 90, width: 352, height: 224 }, fps: 30, offset: 0.8, frames: 60 });
    await fs.mkdir(path.join(dir, 'clips'));
    await fs.copyFile(SAMPLE, path.join(dir, 'bg.mpg'));
    await fs.copyFile(fg, path.join(dir, 'clips', 'fg.mp4'));
    await fs.writeFile(path.join(dir, 'clips', 'junk.mp4'), 'not a video\n'.repeat(50));
    client = await startClient({ root: dir });
    client.conn.onNotification(ShowMessageNotification.type, (m) => {
      messages.push(m);
      onMessage?.();
    });
  });
  after(async () => {
    assert.equal(await client?.close(), 0, client?.stderr());
  });

  it('unknown keys, bad enum values and out-of-range numbers are errors at their range, with typo fixes', async () => {
    const text = '{\n  "bg": "bg.mpg",\n  "fg": "clips/fgg.mp4",\n  "engin": "full",\n  "features": "pixls",\n  "render": { "crf": 99 }\n}\n';
    const uri = client.open(path.join(dir, 'typos.vidkompy.json'), text);
    const pub = await client.diagnostics(uri, (p) => p.diagnostics.some((d) => d.code === 'ENOENT'));
    const ds = pub.diagnostics;
    assert.equal(ds.length, 4, JSON.stringify(ds, null, 1));
    assert.ok(ds.every((d) => d.severity === DiagnosticSeverity.Error), 'all errors');
    const ranges = ds.map((d) => JSON.stringify(d.range));
    for (const needle of ['"engin"', '"pixls"', '99', '"clips/fgg.mp4"']) assert.ok(ranges.includes(JSON.stringify(at(text, needle))), `an error at ${needle}`);
    const fixes = (await client.conn.sendRequest(CodeActionRequest.method,
      { textDocument: { uri }, range: at(text, '"engin"'), context: { diagnostics: ds, only: ['quickfix'] } })) as CodeAction[];
    const titles = fixes.map((a) => a.title).sort();
    assert.deepEqual(titles, ['Change to "engine"', 'Change to "pixels"', 'Fix the path: use "clips/fg.mp4"'], JSON.stringify(fixes));
    const all = fixes.flatMap((a) => a.edit?.changes?.[uri] ?? []);
    const fixed = JSON.parse(TextDocument.applyEdits(TextDocument.create(uri, 'json', 1, text), all));
    assert.deepEqual([fixed.engine, fixed.features, fixed.fg], ['full', 'pixels', 'clips/fg.mp4']);
  });

  it('hovers and completes once, and never offers a file that does not exist', async () => {
    const text = '{\n  "bg": "bg.mpg",\n  "fg": "",\n  "engine": "full"\n}\n';
    const uri = client.open(path.join(dir, 'complete.vidkompy.json'), text);
    const hover = (await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: at(text, 'engine').start })) as Hover;
    const value = (hover.contents as { value: string }).value;
    assert.equal(value.match(/Temporal engine/g)?.length, 1, value);
    const fgPos = at(text, '""').start;
    const files = (await client.conn.sendRequest(CompletionRequest.method,
      { textDocument: { uri }, position: { line: fgPos.line, character: fgPos.character + 1 } })) as CompletionItem[];
    const labels = files.map((i) => i.label);
    assert.ok(labels.includes('clips/fg.mp4') && labels.includes('bg.mpg'), labels.join(', '));
    assert.ok(!labels.some((l) => /footage|closeup/.test(l)), 'no schema example');
    const engPos = at(text, '"full"').start;
    const engines = (await client.conn.sendRequest(CompletionRequest.method,
      { textDocument: { uri }, position: { line: engPos.line, character: engPos.character + 1 } })) as CompletionItem[];
    assert.equal(new Set(engines.map((i) => i.label)).size, engines.length, 'each engine once');
    assert.deepEqual(engines.map((i) => i.label).sort(), ['edit', 'fast', 'full', 'mask', 'precise']);
  });

  it('offers the spatial offset only at the root or "spatial" with both videos there, and a failed resolve says why in words', async () => {
    const text = JSON.stringify({ bg: 'bg.mpg', fg: 'clips/junk.mp4', engine: 'full', spatial: { unscaled: true } }, null, 2) + '\n';
    const uri = client.open(path.join(dir, 'spatial.vidkompy.json'), text);
    const ask = async (range: ReturnType<typeof at>) =>
      ((await client.conn.sendRequest(CodeActionRequest.method,
      { textDocument: { uri }, range, context: { diagnostics: [] } })) as CodeAction[]).filter((a) => a.title === 'Insert the detected spatial offset');
    assert.equal((await ask(at(text, '"full"'))).length, 0, 'not on "engine"');
    assert.equal((await ask({ start: { line: 0, character: 0 }, end: { line: 0, character: 0 } })).length, 1, 'on the root');
    const [action] = await ask(at(text, 'unscaled'));
    assert.ok(action, 'inside "spatial"');
    const resolved = (await client.conn.sendRequest(CodeActionResolveRequest.method, action)) as CodeAction;
    assert.equal(resolved.edit, undefined, 'no edit, and no error reply');
    const find = () => messages.find((m) => /spatial offset could not be found/.test(m.message));
    if (!find()) await new Promise<void>((r) => (onMessage = r));
    const said = find()!;
    assert.ok(said, JSON.stringify(messages));
    assert.match(said.message, /junk\.mp4/);
    assert.doesNotMatch(said.message, /object Object|-32602|vidkompy\//);

    const gone = JSON.stringify({ bg: 'bg.mpg', fg: 'clips/none.mp4' }, null, 2) + '\n';
    client.change(uri, gone, 2);
    assert.equal((await ask({ start: { line: 0, character: 0 }, end: { line: 0, character: 0 } })).length, 0, 'not when fg does not exist');
  });

  it('says engine refusals in the editor\'s words', () => {
    const short = 'fg.mp4: only 10 of 20 frames could be decoded (the file ends early or is damaged); re-export it';
    const cut = new VidkompyError('DECODE', short, 'fg.mp4', { kind: 'options', verb: 'use', options: ['force'], lead: 'or', to: 'to render what decodes' });
    assert.equal(inWordsOf(cut, 'editor'), short);
    assert.equal(cut.message, `${short}; or use --force to render what decodes`);
    const folder = new VidkompyError('UNWRITABLE', 'out.mp4: is a folder', 'out.mp4', { kind: 'output', want: 'file name' });
    assert.doesNotMatch(inWordsOf(folder, 'editor'), /-o\b/);
    assert.equal(inWordsOf(folder, 'editor'), 'out.mp4: is a folder; give a file name in "output"');
    assert.equal(folder.message, 'out.mp4: is a folder; give a file name with -o');
    const more = new VidkompyError('BAD_ARGS', 'p.vidkompy.json: "engin" is not a project field (and 2 more)', 'p.vidkompy.json', { kind: 'command', command: 'check' });
    assert.equal(inWordsOf(more, 'editor'), 'p.vidkompy.json: "engin" is not a project field (and 2 more); the Problems panel has the details');
    assert.equal(more.message, 'p.vidkompy.json: "engin" is not a project field (and 2 more); run \'vidkompy check p.vidkompy.json\' for details');
    const unreachable = new VidkompyError('QUEUE', 'redis://q:6379: cannot reach the job queue (ECONNREFUSED)', undefined, { kind: 'options', verb: 'check', options: ['queue'], to: 'and that redis-server runs there' });
    assert.match(inWordsOf(unreachable, 'editor'), /; check the vidkompy\.queue setting and that redis-server runs there$/);
    assert.match(unreachable.message, /; check --queue and that redis-server runs there$/);
  });
});
