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
}

/** A piece of the text: what diagnostics and edits point at. */
export interface Span {
  offset: number;
  length: number;
}

export function parseJson(text: string): ParsedJson {
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
