import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { before, describe, it } from 'node:test';
import { StreamMessageReader } from 'vscode-jsonrpc/node';
import { CompletionRequest, HoverRequest, type MarkupContent } from 'vscode-languageserver-protocol/node';
import { assertFinite, firstNonFinite } from '../daemon/core/finite';
import { checkEntry, decodeHashMemo, encodeEntry, encodeHashMemo } from '../daemon/embed/cache';
import type { Alignment } from '../daemon/engine/result';
import { alignmentText } from '../daemon/store';
import { MAX_DIAGNOSTICS, sortDiagnostics } from '../daemon/project/check';
import { diag } from '../daemon/project/diagnostics';
import { createScanner, SyntaxKind, visit } from '../daemon/project/jsonc';
import { analysisLimit, MAX_CHARS, MAX_DEPTH, MAX_TOKENS, parseJson } from '../daemon/project/jsonTree';
import { frameChecker, MAX_HEADER_BYTES, MAX_MESSAGE_BYTES } from '../daemon/server/framing';
import { statusRequest } from '../protocol/lsp';
import { runBin } from './support/cli';
import { DAEMON, ensureBuilt, startClient, type TestClient } from './support/lspClient';
import { derived, SAMPLE, tempDir } from './support/media';
import { rng } from './support/rng';

/**
 * Untrusted input and damaged state: caches whose entries were overwritten, streams that lose their
 * framing, documents too deep or too large to analyse, and a bounded, seeded fuzz of the daemon.
 * Every daemon here is the real one (dist/daemon.js) over stdio.
 */

const randomBytes = (rand: () => number, n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(rand() * 256)));

const frame = (body: string | Buffer) => {
  const b = typeof body === 'string' ? Buffer.from(body) : body;
  return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`), b]);
};

/** Every number in a parsed JSON value, for "all finite" checks. */
function numbers(v: unknown, out: number[] = []): number[] {
  if (typeof v === 'number') out.push(v);
  else if (Array.isArray(v)) v.forEach((e) => numbers(e, out));
  else if (v && typeof v === 'object') Object.values(v).forEach((e) => numbers(e, out));
  return out;
}

/** Resolves with the exit code when the process exits; rejects after `ms` (then kills it). */
function exitOf(child: ChildProcessWithoutNullStreams, ms: number, what: string): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${what}: the daemon did not exit within ${ms} ms`));
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

interface Reply {
  id: number;
  result?: unknown;
  error?: { code: number; message: string };
}

/**
 * A daemon driven byte by byte: frames (or anything else) are written as given, and what the daemon
 * sends back is read with the protocol library's own reader.
 */
class RawDaemon {
  readonly child: ChildProcessWithoutNullStreams;
  private replies = new Map<number, Reply>();
  private waiters = new Map<number, (r: Reply) => void>();
  private nextId = 1;
  stderr = '';
  /** What the daemon logged to the client (window/logMessage). */
  logs: string[] = [];

  constructor(cwd: string) {
    this.child = spawn(process.execPath, [DAEMON, '--stdio'], { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stderr.on('data', (c) => (this.stderr += c));
    // A daemon that exits while a write is on its way makes the pipe fail: that is not the test's error.
    this.child.stdin.on('error', () => undefined);
    new StreamMessageReader(this.child.stdout).listen((m) => {
      const log = m as { method?: string; params?: { message?: string } };
      if (log.method === 'window/logMessage') this.logs.push(String(log.params?.message));
      const r = m as unknown as Reply;
      if (typeof r.id !== 'number' || !('result' in r || 'error' in r)) return;
      this.replies.set(r.id, r);
      this.waiters.get(r.id)?.(r);
    });
  }

  write(bytes: Buffer | string): void {
    this.child.stdin.write(bytes);
  }

  /** Sends a well-formed request (any params) and returns its id. */
  send(method: string, params?: unknown): number {
    const id = this.nextId++;
    this.write(frame(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    return id;
  }

  /** Sends the body `make` builds for a fresh id, framed; returns the id. */
  sendRaw(make: (id: number) => string): number {
    const id = this.nextId++;
    this.write(frame(make(id)));
    return id;
  }

  notify(method: string, params?: unknown): void {
    this.write(frame(JSON.stringify({ jsonrpc: '2.0', method, params })));
  }

  reply(id: number, ms = 30_000): Promise<Reply> {
    const have = this.replies.get(id);
    if (have) return Promise.resolve(have);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to request ${id} within ${ms} ms; daemon stderr: ${this.stderr}`)), ms);
      this.waiters.set(id, (r) => {
        clearTimeout(timer);
        this.waiters.delete(id);
        resolve(r);
      });
    });
  }

  async request(method: string, params?: unknown): Promise<Reply> {
    return this.reply(this.send(method, params));
  }

  async initialize(root: string): Promise<void> {
    const r = await this.request('initialize', { processId: process.pid, rootUri: pathToFileURL(root).href, capabilities: {} });
    assert.ok(r.result, `initialize answered: ${JSON.stringify(r.error)}`);
    this.notify('initialized', {});
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill('SIGKILL');
  }
}

const PROJECT = { bg: 'bg.mpg', fg: 'fg.mp4', engine: 'full' };
const projectText = JSON.stringify(PROJECT, null, 2) + '\n';
/** Where "engine" is in projectText, for hovers. */
const ENGINE_POS = { line: 3, character: 4 };

async function hoverText(conn: TestClient['conn'], uri: string): Promise<string> {
  const h = (await conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: ENGINE_POS })) as { contents: MarkupContent } | null;
  return h?.contents.value ?? '';
}

const PREFIX = '{"bg":"bg.mpg","fg":"fg.mp4","x":';
/** 100,000 levels inside a project (200 KB: under the size bound, so the depth bound speaks). */
const DEEP = PREFIX + '['.repeat(100_000) + ']'.repeat(100_000) + '}';
/** Stray closers the parser skips while it nests deeper: a bracket count alone would pass this. */
const SKIPPED = PREFIX + '[' + '[},'.repeat(50_000) + ']}';
/** A valid project with a 5 MB value. */
const HUGE = JSON.stringify({ bg: 'bg.mpg', fg: 'fg.mp4', output: 'a'.repeat(5_000_000) + '.mp4' });

describe('robustness: pure checks', () => {
  it('finds the first non-finite number and refuses an alignment with one', () => {
    assert.equal(firstNonFinite({ a: [1, 2, { b: 3 }], c: -0 }), undefined);
    assert.deepEqual(firstNonFinite({ a: [1, 2, { b: NaN }], c: Infinity }), { path: 'a[2].b', value: NaN });
    assert.deepEqual(firstNonFinite([0, -Infinity]), { path: '[1]', value: -Infinity });
    assert.throws(
      () => assertFinite({ temporal: { meanConfidence: NaN } }, 'out.json'),
      /out\.json: not written: temporal\.meanConfidence is NaN, not a finite number/,
    );
    const al = { version: 1, bg: { file: 'bg.mp4' }, fg: { file: 'fg.mp4' }, temporal: { speed: 1, confidence: [0.5, NaN] } } as unknown as Alignment;
    assert.throws(() => alignmentText(al, 'out.json'), /out\.json: not written: temporal\.confidence\[1\] is NaN/);
    // Finite but not an alignment: the schema refuses it before anything is written.
    const partial = { ...al, temporal: { ...al.temporal, confidence: [0.5, 1] } } as unknown as Alignment;
    assert.throws(() => alignmentText(partial, 'out.json'), /out\.json: not written: \/ must have required property '\w+' \(schemas\/alignment\.schema\.json\)/);
  });

  it('an embedding cache entry carries a checksum: same-length garbage is refused', () => {
    const n = 5;
    const dim = 4;
    const v = new Float32Array(n * dim);
    for (let i = 0; i < n; i++) v[i * dim + (i % dim)] = 1;
    const e = { n, dim, provider: 'cpu' as const, v, times: Float64Array.from({ length: n }, (_, i) => i / 25) };
    const bytes = Buffer.from(encodeEntry('k', e));
    assert.deepEqual(checkEntry('k', bytes), { entry: e });
    const payload = bytes.length - (n * 8 + n * dim * 4);
    const rand = rng(7);
    const garbage = Buffer.from(bytes);
    randomBytes(rand, bytes.length - payload).copy(garbage, payload);
    assert.deepEqual(checkEntry('k', garbage), { damaged: 'checksum mismatch' });
    const flipped = Buffer.from(bytes);
    flipped[bytes.length - 1] ^= 1;
    assert.deepEqual(checkEntry('k', flipped), { damaged: 'checksum mismatch' });
    assert.match((checkEntry('k', bytes.subarray(0, bytes.length - 4)) as { damaged: string }).damaged, /bytes, not the/);
    assert.deepEqual(checkEntry('other', bytes), { damaged: 'header for another key' });
    assert.match((checkEntry('k', randomBytes(rand, bytes.length)) as { damaged: string }).damaged, /not an embedding cache entry/);
  });

  it('a remembered file hash is tagged to its key: a damaged or foreign one is not trusted', () => {
    const hex = 'ab'.repeat(32);
    const memo = encodeHashMemo('id1', hex);
    assert.deepEqual(decodeHashMemo('id1', memo), { hex });
    assert.deepEqual(decodeHashMemo('id2', memo), { damaged: 'its check does not match' });
    assert.deepEqual(decodeHashMemo('id1', 'cd'.repeat(32) + memo.slice(64)), { damaged: 'its check does not match' });
    assert.deepEqual(decodeHashMemo('id1', hex), { damaged: '' }, 'the untagged format of before: recomputed without a note');
    assert.deepEqual(decodeHashMemo('id1', 'x'.repeat(memo.length)), { damaged: 'its check does not match' });
  });

  it('documents past the analysis bounds are not parsed, and say why in one finding', () => {
    assert.equal(analysisLimit(projectText), undefined);
    assert.equal(analysisLimit('['.repeat(MAX_DEPTH) + ']'.repeat(MAX_DEPTH)), undefined);
    assert.equal(analysisLimit('"' + '['.repeat(1000) + '"'), undefined, 'brackets in a string do not count');
    assert.equal(analysisLimit('/* ' + '['.repeat(1000) + ' */ // [[[[\n{}'), undefined, 'nor in comments');
    assert.equal(analysisLimit('"a\\"' + '['.repeat(1000) + '"'), undefined, 'an escaped quote does not end the string');
    assert.equal(analysisLimit('"\n' + '['.repeat(MAX_DEPTH + 1))?.offset, 2 + MAX_DEPTH, 'a string ends at a line break, as in the parser');
    const deep = analysisLimit(DEEP)!;
    assert.equal(deep.offset, PREFIX.length + MAX_DEPTH - 1, 'at the first bracket past the bound (the project object is the first level)');
    assert.match(deep.message, /nests deeper than 64 levels/);
    assert.match(analysisLimit(SKIPPED)!.message, /nests deeper than 64 levels/);
    assert.match(analysisLimit(HUGE)!.message, /this file is 4883 KiB; vidkompy checks project files up to 256 KiB/);
    const tokens = (text: string) => {
      assert.ok(text.length < MAX_CHARS);
      return analysisLimit(text)?.message ?? 'passed';
    };
    // Every way to make many tokens (and as many parse errors) out of few characters is counted.
    for (const unit of ['0,', ',', '1 ', '-1', '@ ', '//\n', '"",', '{},', '"k":1,', '/ ']) {
      assert.match(tokens('[' + unit.repeat(MAX_TOKENS) + ']'), /more than 20000 JSON tokens/, JSON.stringify(unit));
    }
    assert.equal(
      tokens(JSON.stringify({ bg: 'a.mp4', fg: 'b.mp4', anchors: Array.from({ length: 1000 }, (_, i) => ({ fg: i, bg: i + 0.5 })) })),
      'passed',
      '1000 anchors',
    );
    const many = '[' + '0,'.repeat(MAX_TOKENS) + '0]';
    for (const text of [DEEP, SKIPPED, HUGE, many]) {
      const parsed = parseJson(text);
      assert.equal(parsed.root, undefined);
      assert.ok(parsed.limit);
    }
  });

  it("the bounds check counts at least the parser's tokens and depth, on random texts", () => {
    const rand = rng(99);
    const alphabet = ['{', '}', '[', ']', ',', ':', '"', '\\', '/', '*', '-', '1', 'e', '.', 'a', ' ', '\n', '\t', '\r', 'é'];
    let checked = 0;
    for (let n = 0; n < 5000; n++) {
      const text = Array.from({ length: 1 + Math.floor(rand() * 60) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      let tokens = 0;
      const scanner = createScanner(text, false);
      for (let k = scanner.scan(); k !== SyntaxKind.EOF; k = scanner.scan()) if (k !== SyntaxKind.Trivia && k !== SyntaxKind.LineBreakTrivia) tokens++;
      let depth = 0;
      let deepest = 0;
      const down = () => {
        deepest = Math.max(deepest, ++depth);
      };
      const up = () => {
        depth--;
      };
      visit(text, { onObjectBegin: down, onArrayBegin: down, onObjectEnd: up, onArrayEnd: up }, { disallowComments: true, allowTrailingComma: false });
      const wide = { depth: 1000, chars: 1000, tokens: 1000 };
      if (tokens > 0) assert.match(analysisLimit(text, { ...wide, tokens: tokens - 1 })?.message ?? 'passed', /JSON tokens/, JSON.stringify(text));
      if (deepest > 0) assert.match(analysisLimit(text, { ...wide, depth: deepest - 1 })?.message ?? 'passed', /nests deeper/, JSON.stringify(text));
      checked += tokens > 0 && deepest > 0 ? 1 : 0;
    }
    assert.ok(checked > 1000, `${checked} texts with tokens and nesting`);
  });

  it('findings are capped per file, with a count of the rest', () => {
    const ds = Array.from({ length: 250 }, (_, i) => diag({ offset: 250 - i, length: 1 }, i === 3 ? 'error' : 'warning', 'X', `w${i}`));
    const capped = sortDiagnostics(ds);
    assert.equal(capped.length, MAX_DIAGNOSTICS + 1);
    assert.deepEqual(
      capped.slice(0, 3).map((d) => d.offset),
      [1, 2, 3],
    );
    const more = capped[MAX_DIAGNOSTICS];
    assert.deepEqual([more.code, more.severity, more.offset], ['LIMIT', 'error', MAX_DIAGNOSTICS + 1]);
    assert.match(more.message, /^150 more findings from here on are not shown/);
  });

  it('checks LSP framing chunk by chunk, holding no body', () => {
    const good = Buffer.concat([
      frame('{"a":1}'),
      frame(' [1]'),
      Buffer.from('Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}'),
    ]);
    for (const step of [1, 2, 5, 13, good.length]) {
      const check = frameChecker();
      for (let i = 0; i < good.length; i += step) assert.equal(check(good.subarray(i, i + step)), undefined, `chunks of ${step}`);
    }
    const bad: [string, RegExp][] = [
      ['Content-Type: x\r\n\r\n{}', /without Content-Length/],
      ['Content-Length: 12a\r\n\r\n', /bad Content-Length "12a"/],
      ['Content-Length: \r\n\r\n', /bad Content-Length ""/],
      [`Content-Length: ${MAX_MESSAGE_BYTES + 1}\r\n\r\n`, /over the 67108864-byte limit/],
      ['Content-Length: 2\r\nContent-Length: 2\r\n\r\n{}', /two Content-Length/],
      ['Content-Length: 2\n\n{}', /byte 0x0a in a header/],
      ['no colon here\r\n', /' ' in a header name/],
      ['Content-Length: 2\r\n\r\nxx', /body starts with 'x'/],
      ['Content-Length: 2\r\n\r\n  ', /body is blank/],
      ['X'.repeat(MAX_HEADER_BYTES + 1), /no end of header within 8192 bytes/],
    ];
    for (const [input, why] of bad) assert.match(frameChecker()(Buffer.from(input)) ?? 'accepted', why, JSON.stringify(input.slice(0, 60)));
  });
});

describe('robustness: the embedding cache is checked', () => {
  it('a corrupted entry (same-length garbage) is noted under -v, recomputed, and the alignment is right and finite', async () => {
    ensureBuilt();
    const dir = await tempDir('robust-cache');
    const { fg, truth } = await derived(SAMPLE, { crop: { x: 150, y: 90, width: 352, height: 224 }, fps: 30, offset: 0.8, frames: 60 });
    const env = { ...process.env, XDG_CACHE_HOME: dir };
    const sync = (out: string, ...more: string[]) =>
      runBin(['sync', '--bg', SAMPLE, '--fg', fg, '--features', 'embedding', '-q', '-o', path.join(dir, out), ...more], { env });
    const first = await sync('first.json');
    assert.equal(first.code, 0, first.err);

    // Every entry's payload (header intact) and every remembered hash (format intact) overwritten.
    const cache = path.join(dir, 'vidkompy');
    const entries = (await fs.readdir(path.join(cache, 'embeddings'), { recursive: true }))
      .filter((f) => f.endsWith('.bin'))
      .map((f) => path.join(cache, 'embeddings', f));
    assert.ok(entries.length >= 2, `fg and bg entries: ${entries}`);
    const rand = rng(42);
    for (const f of entries) {
      const b = await fs.readFile(f);
      const head = JSON.parse(b.toString('utf8', 11, 11 + b.readUInt32LE(7))) as { n: number; dim: number };
      const payload = head.n * 8 + head.n * head.dim * 4;
      randomBytes(rand, payload).copy(b, b.length - payload);
      await fs.writeFile(f, b);
    }
    const hashes = (await fs.readdir(path.join(cache, 'hashes'))).map((f) => path.join(cache, 'hashes', f));
    for (const f of hashes) {
      const text = await fs.readFile(f, 'utf8');
      await fs.writeFile(f, randomBytes(rand, 32).toString('hex') + text.slice(64));
    }

    const second = await sync('second.json', '-v');
    assert.equal(second.code, 0, second.err);
    const notes = second.err.split('\n').filter((l) => /discarded a damaged embedding cache entry/.test(l));
    assert.equal(notes.length, entries.length, second.err);
    assert.match(notes[0], /\(checksum mismatch\).*computing the embeddings again/);
    assert.equal(second.err.split('\n').filter((l) => /remembered hash of .* is damaged/.test(l)).length, hashes.length, second.err);

    const al = JSON.parse(await fs.readFile(path.join(dir, 'second.json'), 'utf8')) as Alignment;
    assert.ok(numbers(al).every(Number.isFinite), 'every number finite');
    const map = al.temporal.bgFrameForFg;
    assert.equal(map.length, truth.bgFrameForFg.length);
    assert.ok(
      map.every((j, i) => Math.abs(j - truth.bgFrameForFg[i]) <= 1),
      `map within one frame of the truth: ${map}`,
    );
    assert.deepEqual([al.spatial.x, al.spatial.y, al.spatial.scale], [150, 90, 1]);
    const before = JSON.parse(await fs.readFile(path.join(dir, 'first.json'), 'utf8')) as Alignment;
    assert.deepEqual(map, before.temporal.bgFrameForFg, 'the same map as before the damage');

    // The recomputed entries were written back, sound: the next run trusts them without a note.
    const third = await sync('third.json', '-v');
    assert.equal(third.code, 0, third.err);
    assert.doesNotMatch(third.err, /damaged/);
  });
});

describe('robustness: the daemon never goes silent', () => {
  let dir: string;
  before(async () => {
    ensureBuilt();
    dir = await tempDir('robust-daemon');
  });

  it('exits non-zero, promptly, on a framing error (bad or missing Content-Length, garbage)', async () => {
    const breakers: [string, Buffer][] = [
      ['no Content-Length', Buffer.from('Content-Type: application/vscode-jsonrpc\r\n\r\n{"jsonrpc":"2.0","id":99,"method":"shutdown"}')],
      ['a bad Content-Length', Buffer.from('Content-Length: twelve\r\n\r\n{"jsonrpc":"2.0"}')],
      ['garbage', Buffer.from('\x00\xffGET / HTTP/1.1\r\n\r\n')],
    ];
    for (const [what, bytes] of breakers) {
      const d = new RawDaemon(dir);
      try {
        await d.initialize(dir);
        assert.ok((await d.request(statusRequest.method)).result, 'alive before');
        const t0 = performance.now();
        d.write(bytes);
        const code = await exitOf(d.child, 20_000, what);
        assert.equal(code, 1, `${what}: exit status; stderr: ${d.stderr}`);
        assert.match(d.stderr, /vidkompy daemon: broken input framing: .*exiting with status 1/, what);
        assert.ok(performance.now() - t0 < 20_000);
      } finally {
        d.kill();
      }
    }
  });

  it('gives a document too deep or too large one diagnostic, and still answers a hover', async () => {
    const client = await startClient({ root: dir });
    try {
      const good = client.open(path.join(dir, 'good.vidkompy.json'), projectText);
      await client.diagnostics(good);
      for (const [name, text, why] of [
        ['deep', DEEP, /nests deeper than 64 levels/],
        ['skipped', SKIPPED, /nests deeper than 64 levels/],
        ['huge', HUGE, /this file is 4883 KiB/],
      ] as const) {
        const uri = client.open(path.join(dir, `${name}.vidkompy.json`), text);
        const pub = await client.diagnostics(uri);
        assert.equal(pub.diagnostics.length, 1, `${name}: ${JSON.stringify(pub.diagnostics).slice(0, 500)}`);
        const [d] = pub.diagnostics;
        assert.equal(d.code, 'LIMIT');
        assert.equal(d.severity, 1);
        assert.match(d.message as string, why);
        assert.equal(
          await client.conn.sendRequest(HoverRequest.method, { textDocument: { uri }, position: { line: 0, character: 3 } }),
          null,
          `${name}: hover answers`,
        );
        assert.deepEqual(
          await client.conn.sendRequest(CompletionRequest.method, { textDocument: { uri }, position: { line: 0, character: 3 } }),
          [],
          `${name}: completion answers`,
        );
        assert.match(await hoverText(client.conn, good), /\*\*engine\*\*: Temporal engine/, `${name}: hover on another project`);
      }
      assert.equal(client.child.exitCode, null, 'still running');
      assert.ok(!client.logs.some((l) => /Maximum call stack/.test(l)), client.logs.join('\n').slice(0, 2000));
    } finally {
      await client.close();
    }
  });

  it('survives a bounded, seeded fuzz of its input, then answers a hover', { timeout: 300_000 }, async (t) => {
    const rand = rng(20240607);
    const int = (n: number) => Math.floor(rand() * n);
    const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)];
    const goodUri = pathToFileURL(path.join(dir, 'good.vidkompy.json')).href;
    const strings = [
      '',
      'x',
      'file:///',
      'file:///nope.vidkompy.json',
      pathToFileURL(path.join(dir, 'fuzz0.vidkompy.json')).href,
      'untitled:1',
      '\u0000\ud800',
      '../../etc/passwd',
      'é'.repeat(50),
    ];
    const value = (depth = 0): unknown => {
      switch (int(depth > 2 ? 5 : 7)) {
        case 0:
          return null;
        case 1:
          return rand() < 0.5;
        case 2:
          return pick([0, -1, 0.5, 2 ** 31, -(2 ** 53), 1e308, -0, 123456789.123]);
        case 3:
        case 4:
          return pick(strings);
        case 5:
          return Array.from({ length: int(4) }, () => value(depth + 1));
        default:
          return Object.fromEntries(
            Array.from({ length: int(4) }, () => [pick(['uri', 'textDocument', 'position', 'line', 'project', 'x', 'settings']), value(depth + 1)]),
          );
      }
    };
    /** Params of the right shape with one part of the wrong type, or anything at all. */
    const params = (): unknown => {
      if (rand() < 0.4) return value();
      const p: Record<string, unknown> = {
        textDocument: { uri: pick([...strings, goodUri]) },
        position: { line: int(5), character: int(20) },
        project: pick(strings),
        uri: pick(strings),
      };
      const key = pick(Object.keys(p));
      p[key] = rand() < 0.5 ? value() : { ...(p[key] as object), [pick(['uri', 'line', 'character'])]: value() };
      return p;
    };
    const docText = (): unknown => pick([DEEP, SKIPPED, HUGE, projectText, '', '{', '[},'.repeat(1000), randomBytes(rand, 200).toString('latin1'), value()]);
    const methods = [
      'textDocument/hover',
      'textDocument/completion',
      'textDocument/codeAction',
      'codeAction/resolve',
      'vidkompy/probe',
      'vidkompy/cancel',
      'vidkompy/status',
      'vidkompy/result',
      'vidkompy/frame',
      'vidkompy/align',
      'no/such/method',
    ];
    const notifications = [
      'textDocument/didOpen',
      'textDocument/didChange',
      'textDocument/didClose',
      'workspace/didChangeConfiguration',
      '$/cancelRequest',
      '$/setTrace',
      'no/such/notification',
    ];

    const d = new RawDaemon(dir);
    try {
      await d.initialize(dir);
      d.notify('textDocument/didOpen', { textDocument: { uri: goodUri, languageId: 'json', version: 1, text: projectText } });
      const expected: number[] = [];
      const replies = { result: 0, error: 0 };
      const CASES = 300;
      for (let n = 0; n < CASES; n++) {
        const kind = int(8);
        if (kind <= 2) expected.push(d.send(pick(methods), params()));
        else if (kind === 3) {
          const uri = pathToFileURL(path.join(dir, `fuzz${int(3)}.vidkompy.json`)).href;
          const text = docText();
          d.notify(pick(['textDocument/didOpen', 'textDocument/didChange']), {
            textDocument: { uri, languageId: 'json', version: pick([1, 2, -1, 'x']), text },
            contentChanges: rand() < 0.7 ? [{ text }] : [{ range: value(), text }],
          });
        } else if (kind === 4) d.notify(pick(notifications), params());
        else if (kind === 5) {
          // Valid JSON that is not a valid JSON-RPC message.
          const bad = pick([
            {},
            { jsonrpc: '1.0', id: 1, method: 'textDocument/hover' },
            { jsonrpc: '2.0', id: value(), method: 'textDocument/hover' },
            { jsonrpc: '2.0', id: 5, method: value() },
            { jsonrpc: '2.0', id: 5, result: value() },
            { jsonrpc: '2.0', id: 987654, error: value() },
            [{ jsonrpc: '2.0', method: 'initialized' }],
            value(),
          ]);
          const body = JSON.stringify(bad) ?? 'null';
          if (body.startsWith('{') || body.startsWith('[')) d.write(frame(body));
        } else if (kind === 6) {
          // Framed, but not JSON: the frame boundaries survive and the library drops the message.
          const msg = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'textDocument/hover', params: params() });
          d.write(frame('{' + msg.slice(1, 1 + int(msg.length - 1))));
        } else {
          // A request with params nested 50,000 deep: V8's JSON parser does not recurse, and nothing after it may.
          const nested = '['.repeat(50_000) + ']'.repeat(50_000);
          expected.push(d.sendRaw((id) => `{"jsonrpc":"2.0","id":${id},"method":"${pick(methods)}","params":{"textDocument":${nested},"x":${nested}}}`));
        }
        // Every 25 cases, the daemon must still answer, and answer every well-formed request so far.
        if (n % 25 === 24) {
          assert.ok((await d.request(statusRequest.method)).result, `alive after case ${n}`);
          for (const r of await Promise.all(expected.splice(0).map((id) => d.reply(id)))) replies[r.error ? 'error' : 'result']++;
        }
      }
      const hover = await d.request('textDocument/hover', { textDocument: { uri: goodUri }, position: ENGINE_POS });
      assert.match((hover.result as { contents: MarkupContent }).contents.value, /\*\*engine\*\*: Temporal engine/);
      assert.equal(d.child.exitCode, null, `still running; stderr: ${d.stderr}`);
      assert.ok(!d.logs.some((l) => /Maximum call stack/.test(l)), 'no stack overflow');
      t.diagnostic(`${CASES} cases: ${replies.result} requests answered with a result, ${replies.error} with an error; ${d.logs.length} log lines`);
      t.diagnostic(`distinct log lines: ${[...new Set(d.logs.map((l) => l.split('\n')[0].slice(0, 120)))].join(' | ')}`);
    } finally {
      d.kill();
    }

    // Inputs that kill a stream, each in its own daemon: it must exit non-zero rather than hang.
    const killers: Buffer[] = [
      randomBytes(rand, 64),
      randomBytes(rand, 3000),
      Buffer.concat([frame('{}'), randomBytes(rand, 500)]),
      Buffer.from(`Content-Length: ${randomBytes(rand, 6).toString('hex')}\r\n\r\n{}`),
      Buffer.from(`Content-Length: ${MAX_MESSAGE_BYTES * 2}\r\n\r\n`),
      Buffer.concat([Buffer.from('Content-Length: 40\r\n\r\n'), randomBytes(rand, 40)]),
    ];
    for (const [k, bytes] of killers.entries()) {
      const victim = new RawDaemon(dir);
      try {
        await victim.initialize(dir);
        victim.write(bytes);
        const code = await exitOf(victim.child, 20_000, `killer ${k}`);
        assert.notEqual(code, 0, `killer ${k}`);
        assert.match(victim.stderr, /broken input framing/, `killer ${k}`);
      } finally {
        victim.kill();
      }
    }
    const fresh = await startClient({ root: dir });
    try {
      const uri = fresh.open(path.join(dir, 'good.vidkompy.json'), projectText);
      assert.match(await hoverText(fresh.conn, uri), /\*\*engine\*\*: Temporal engine/, 'a fresh daemon answers');
    } finally {
      await fresh.close();
    }
  });
});
