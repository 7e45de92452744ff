/**
 * The JSON layout of every file vidkompy writes for people to read and diff: objects indented,
 * arrays of numbers kept on one line (a frame map is thousands of them), keys in the order the code
 * builds them, undefined values left out.
 */
export function layoutJson(value: unknown): string {
  const fmt = (v: unknown, indent: string): string => {
    if (Array.isArray(v)) {
      if (v.every((e) => typeof e === 'number')) return `[${v.join(',')}]`;
      return `[\n${v.map((e) => indent + '  ' + fmt(e, indent + '  ')).join(',\n')}\n${indent}]`;
    }
    if (v && typeof v === 'object') {
      const entries = Object.entries(v).filter(([, e]) => e !== undefined);
      return `{\n${entries.map(([k, e]) => `${indent}  ${JSON.stringify(k)}: ${fmt(e, indent + '  ')}`).join(',\n')}\n${indent}}`;
    }
    return JSON.stringify(v);
  };
  return fmt(value, '') + '\n';
}
