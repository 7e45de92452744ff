/**
 * A watch on the daemon's input framing. LSP frames each message as `Content-Length: N\r\n\r\n`
 * and N bytes of JSON. vscode-jsonrpc's reader, on a frame it cannot read (no or a bad
 * Content-Length, a header line without ':', bytes that never form a header), reports an error
 * nobody hears and then waits, buffering without bound: the daemon stays alive and never answers
 * again, and its client cannot tell. Once a frame boundary is lost nothing after it can be trusted,
 * so the daemon reads the same bytes alongside the library, checks every frame, and on the first
 * bad one logs why and exits non-zero; the client then starts a fresh daemon. (One case stays a
 * wait: a body shorter than its Content-Length, then silence, looks like a slow client; whatever
 * the client sends next lands in that body, and the frame after it is refused.)
 *
 * Bounds (they are also the memory the stream can take):
 * - a header block is at most MAX_HEADER_BYTES (the LSP's two short lines fit many times over);
 * - a message is at most MAX_MESSAGE_BYTES: the library holds one whole message (and its decoded
 *   text and object) at a time, so input costs at most a small multiple of this;
 * - a message body is JSON-RPC: its first byte past white space opens an object or an array.
 * A body that starts right but is not valid JSON keeps the frame boundaries intact: the library
 * drops that one message and the stream carries on.
 */

export const MAX_HEADER_BYTES = 8 << 10;
/** Room for a project file far past what the daemon analyses (see jsonTree.ts), so it gets a diagnostic. */
export const MAX_MESSAGE_BYTES = 64 << 20;

export interface FrameLimits {
  maxHeaderBytes: number;
  maxMessageBytes: number;
}

/** Feeds input chunks in order; returns why the stream is broken at the first bad frame, else undefined. */
export type FrameChecker = (chunk: Uint8Array) => string | undefined;

const CR = 13;
const LF = 10;
const COLON = 58;
const isSpace = (b: number) => b === 32 || b === 9 || b === CR || b === LF;
const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]$/;
const isTokenByte = (b: number) => b < 128 && TOKEN.test(String.fromCharCode(b));
const isValueByte = (b: number) => b === 9 || (b >= 0x20 && b <= 0x7e);

/** Content-Length's value, or why it is not one. */
export function contentLength(value: string, maxMessageBytes: number): { length: number } | { error: string } {
  const v = value.trim();
  if (!/^\d{1,12}$/.test(v)) return { error: `bad Content-Length ${JSON.stringify(v.slice(0, 40))}` };
  const length = Number(v);
  if (length === 0) return { error: 'Content-Length 0: an empty message' };
  if (length > maxMessageBytes) return { error: `Content-Length ${length} is over the ${maxMessageBytes}-byte limit on one message` };
  return { length };
}

/**
 * A checker of LSP framing. It keeps at most one header block, never a body: bodies are counted
 * and only their first non-blank byte is looked at. Header bytes are checked as they come (a name
 * of token characters, a colon, printable ASCII, CRLF line ends), so garbage is refused at its
 * first byte that no header could contain, not when a buffer fills up.
 */
export function frameChecker(limits: FrameLimits = { maxHeaderBytes: MAX_HEADER_BYTES, maxMessageBytes: MAX_MESSAGE_BYTES }): FrameChecker {
  let line = '';
  let colon = -1;
  let headerBytes = 0;
  let afterCR = false;
  let length: number | undefined;
  /** Body bytes still to come; -1: reading a header. */
  let remaining = -1;
  /** Whether the body's first non-blank byte has been seen. */
  let opened = false;
  let broken: string | undefined;
  const shown = (b: number) => (b >= 0x20 && b <= 0x7e ? `'${String.fromCharCode(b)}'` : `byte 0x${b.toString(16).padStart(2, '0')}`);

  /** One header byte: why the header is broken, or undefined. */
  const headerByte = (b: number): string | undefined => {
    if (++headerBytes > limits.maxHeaderBytes) return `no end of header within ${limits.maxHeaderBytes} bytes`;
    if (afterCR) {
      afterCR = false;
      if (b !== LF) return `${shown(b)} after CR in a header (lines end in CRLF)`;
      if (line !== '') {
        if (colon < 1) return `header line ${JSON.stringify(line.slice(0, 80))} has no name and ':'`;
        if (line.slice(0, colon).toLowerCase() === 'content-length') {
          if (length !== undefined) return 'two Content-Length headers';
          const c = contentLength(line.slice(colon + 1), limits.maxMessageBytes);
          if ('error' in c) return c.error;
          length = c.length;
        }
        line = '';
        colon = -1;
        return undefined;
      }
      // The blank line: the header is complete.
      if (length === undefined) return 'a header without Content-Length';
      remaining = length;
      opened = false;
      length = undefined;
      headerBytes = 0;
      return undefined;
    }
    if (b === CR) {
      afterCR = true;
      return undefined;
    }
    if (colon < 0 && b === COLON && line !== '') colon = line.length;
    else if (colon < 0 ? !isTokenByte(b) : !isValueByte(b)) {
      return `${shown(b)} in a header${colon < 0 ? ' name' : ''} (${JSON.stringify(line.slice(0, 40))} so far)`;
    }
    line += String.fromCharCode(b);
    return undefined;
  };

  return (chunk) => {
    if (broken) return broken;
    let i = 0;
    while (i < chunk.length) {
      if (remaining < 0) {
        const why = headerByte(chunk[i++]);
        if (why) return (broken = why);
        continue;
      }
      const end = Math.min(chunk.length, i + remaining);
      for (; !opened && i < end; i++, remaining--) {
        if (isSpace(chunk[i])) continue;
        if (chunk[i] !== 0x7b && chunk[i] !== 0x5b) return (broken = `a message body starts with ${shown(chunk[i])}, not '{' or '['`);
        opened = true;
      }
      remaining -= end - i;
      i = end;
      if (remaining === 0) {
        if (!opened) return (broken = 'a message body is blank');
        remaining = -1;
      }
    }
    return undefined;
  };
}

/**
 * Checks `input`'s framing, reading the same chunks as the protocol library; `onBroken` runs once,
 * at the first bad frame. Attach before the library listens: listeners run in the order they were
 * added, so `onBroken` sees a bad chunk before the library does.
 */
export function watchFraming(input: NodeJS.ReadableStream, onBroken: (why: string) => void): void {
  const check = frameChecker();
  const onData = (chunk: Buffer | string) => {
    const why = check(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    if (!why) return;
    input.off('data', onData);
    onBroken(why);
  };
  input.on('data', onData);
}
