import { getNodeValue, parseTree, printParseErrorCode, type JSONPath, type Node, type ParseError } from './jsonc';

/**
 * A project file parsed with its syntax tree kept, so every finding can point at the exact bytes
 * it is about (a key, a value, an array element).
 */
export interface ParsedJson {
  text: string;
  root: Node | undefined;
  value: unknown;
  errors: ParseError[];
  /** Set when the text is past the analysis bounds: it was not parsed, and this is why. */
  limit?: Span & { message: string };
}

/** A piece of the text: what diagnostics and edits point at. */
export interface Span {
  offset: number;
  length: number;
}

/**
 * Bounds on what is analysed. The parser, the tree walks and the value builder recurse once per
 * nesting level, and their time and memory grow with the number of tokens (a syntax tree node or
 * a parse error is some 100 bytes, and the schema check reports every bad item): a document past
 * these bounds gets one diagnostic saying so, and no parse. A project nests 3 levels and has a few
 * hundred tokens (a thousand anchors fit), so the bounds sit far above any real project and far
 * below trouble: just inside them the parse and the text checks of the worst documents measured
 * (an error or a schema finding at every token) took at most 0.15 s (2-core development machine,
 * idle) and 25 MiB of heap.
 */
export const MAX_DEPTH = 64;
export const MAX_CHARS = 256 << 10;
export const MAX_TOKENS = 20_000;

export interface Bounds {
  depth: number;
  chars: number;
  tokens: number;
}

const BOUNDS: Bounds = { depth: MAX_DEPTH, chars: MAX_CHARS, tokens: MAX_TOKENS };

const QUOTE = 34;
const BACKSLASH = 92;
const SLASH = 47;
const STAR = 42;
const MINUS = 45;
const isLineBreak = (c: number) => c === 10 || c === 13;
/** What ends a run of other characters in jsonc-parser's scanner: blanks and the JSON punctuation. */
const endsRun = (c: number) =>
  c === 32 || c === 9 || isLineBreak(c) || c === QUOTE || c === SLASH || c === 0x2c || c === 0x3a || (c | 0x20) === 0x7b || (c | 0x20) === 0x7d;

/**
 * Where `text` first goes past `bounds`, if it does: one pass, no recursion. It reads the text as
 * jsonc-parser's scanner does: a string ends at its quote or at a line break (a backslash takes
 * the next character), comments are skipped, so brackets inside them do not count. Outside them it
 * counts at least as many open brackets as the parser has open containers, so a text it passes
 * cannot take the parser deeper than `bounds.depth`, and at least as many tokens as the parser
 * reads: one per punctuation mark, string and comment, and per run of other characters one, or,
 * when it starts with a digit or a minus sign, two plus one per minus sign in it. (The scanner
 * reads a run as one token, except that a number ends where it ends and each minus sign after it
 * starts a number or stands alone: `1-1-1` is three numbers, `1a` a number and a run, `-.` a
 * minus and a run; a run of other characters, once started, takes the rest of the run.)
 */
export function analysisLimit(text: string, bounds: Bounds = BOUNDS): (Span & { message: string }) | undefined {
  const limit = (offset: number, length: number, why: string) => ({ offset, length, message: `${why}, so it is not checked` });
  if (text.length > bounds.chars) {
    const kib = (n: number) => `${Math.round(n / 1024)} KiB`;
    return limit(0, 0, `this file is ${kib(text.length)}; vidkompy checks project files up to ${kib(bounds.chars)} (a project is a few KiB)`);
  }
  // The brackets still open: a closer pops only its own kind, as in the parser, which skips a stray
  // closer and would otherwise recurse ever deeper on `[},[},[},…` while a plain count stayed at 1.
  const open = new Uint8Array(bounds.depth + 1);
  let depth = 0;
  let tokens = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || c === 9 || isLineBreak(c)) continue;
    const start = i;
    tokens++;
    if (c === QUOTE) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) i++;
        else if (d === QUOTE || isLineBreak(d)) break;
      }
    } else if (c === SLASH && text.charCodeAt(i + 1) === SLASH) {
      while (i + 1 < text.length && !isLineBreak(text.charCodeAt(i + 1))) i++;
    } else if (c === SLASH && text.charCodeAt(i + 1) === STAR) {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    } else if (c === 0x7b || c === 0x5b) {
      if (depth === bounds.depth) {
        return limit(i, 1, `this file nests deeper than ${bounds.depth} levels here; vidkompy checks project files up to that (a project nests 3)`);
      }
      open[depth++] = c;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth > 0 && open[depth - 1] === c - 2) depth--;
    } else if (c !== 0x2c && c !== 0x3a && c !== SLASH) {
      // A run, up to the next blank or punctuation mark. One that starts a number can split (above).
      if (c === MINUS || (c >= 0x30 && c <= 0x39)) tokens += c === MINUS ? 2 : 1;
      while (i + 1 < text.length && !endsRun(text.charCodeAt(i + 1))) {
        if (text.charCodeAt(++i) === MINUS) tokens++;
      }
    }
    if (tokens > bounds.tokens) {
      return limit(start, 1, `this file has more than ${bounds.tokens} JSON tokens; vidkompy checks project files up to that (a project has a few hundred)`);
    }
  }
  return undefined;
}

export function parseJson(text: string): ParsedJson {
  const limit = analysisLimit(text);
  if (limit) return { text, root: undefined, value: undefined, errors: [], limit };
  const errors: ParseError[] = [];
  const root = parseTree(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  return { text, root, value: root ? getNodeValue(root) : undefined, errors };
}

const SYNTAX: Record<string, string> = {
  InvalidSymbol: 'unexpected character',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'a property name in double quotes is expected here',
  ValueExpected: 'a value is expected here',
  ColonExpected: "a ':' is expected here",
  CommaExpected: "a ',' is expected here",
  CloseBraceExpected: "a '}' is expected here",
  CloseBracketExpected: "a ']' is expected here",
  EndOfFileExpected: 'nothing may follow the closing brace',
  InvalidCommentToken: 'comments are not allowed in JSON',
  UnexpectedEndOfComment: 'unterminated comment',
  UnexpectedEndOfString: 'unterminated string',
  UnexpectedEndOfNumber: 'unterminated number',
  InvalidUnicode: 'invalid unicode escape',
  InvalidEscapeCharacter: 'invalid escape character',
  InvalidCharacter: 'invalid character in a string',
};

export function syntaxMessage(e: ParseError): string {
  const name = printParseErrorCode(e.error);
  return `JSON syntax: ${SYNTAX[name] ?? name}`;
}

/** The node at a path of keys and indices (a string index into an array works too). */
export function nodeAt(root: Node | undefined, path: readonly (string | number)[]): Node | undefined {
  let node = root;
  for (const seg of path) {
    if (!node?.children) return undefined;
    if (node.type === 'object') {
      const prop = node.children.find((p) => p.children?.[0]?.value === String(seg));
      node = prop?.children?.[1];
    } else if (node.type === 'array') {
      node = node.children[Number(seg)];
    } else return undefined;
  }
  return node;
}

/** A JSON pointer (`/anchors/0/fg`, as Ajv reports) as path segments. */
export function pointerToPath(pointer: string): string[] {
  if (!pointer) return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `render.crf`, `anchors[1].fg`: a path as people read it. */
export function pathLabel(path: JSONPath): string {
  return path.reduce<string>((acc, s) => (typeof s === 'number' || /^\d+$/.test(s) ? `${acc}[${s}]` : acc ? `${acc}.${s}` : s), '');
}

export const spanOf = (n: Node): Span => ({ offset: n.offset, length: n.length });

/** The key of the property whose value is `n` (for an object or array value, the friendliest spot). */
export function keySpanOf(n: Node): Span | undefined {
  const key = n.parent?.type === 'property' ? n.parent.children?.[0] : undefined;
  return key ? spanOf(key) : undefined;
}

/** Where to point at a whole object or array: its key when it has one, else its opening bracket. */
export function containerSpan(n: Node): Span {
  return keySpanOf(n) ?? { offset: n.offset, length: 1 };
}

/** The value of the string at `path`, with its node, when it is a string. */
export function stringAt(root: Node | undefined, path: readonly (string | number)[]): { value: string; node: Node } | undefined {
  const node = nodeAt(root, path);
  return node?.type === 'string' ? { value: node.value as string, node } : undefined;
}

/** The property names of an object node. */
export function keysOf(obj: Node | undefined): string[] {
  return obj?.type === 'object' ? (obj.children ?? []).map((p) => p.children?.[0]?.value as string).filter((k) => typeof k === 'string') : [];
}
