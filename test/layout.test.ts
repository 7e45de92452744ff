import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * The layout the README promises, checked: which folder may import which, and no import circles.
 * Read from the sources' import lines, so a new back-arrow fails here with the file that made it.
 */
const ROOT = path.resolve(__dirname, '..');

function sources(dir: string): string[] {
  return readdirSync(path.join(ROOT, dir)).flatMap((name) => {
    const rel = path.join(dir, name);
    if (name === 'node_modules' || name === 'build') return [];
    if (statSync(path.join(ROOT, rel)).isDirectory()) return sources(rel);
    return rel.endsWith('.ts') ? [rel] : [];
  });
}

const FILES = ['daemon', 'protocol', 'extension', 'webview/src'].flatMap(sources);

/** Each file's local imports, resolved to files. */
function graph(): Map<string, string[]> {
  const g = new Map<string, string[]>();
  for (const f of FILES) {
    const text = readFileSync(path.join(ROOT, f), 'utf8');
    const deps: string[] = [];
    for (const m of text.matchAll(/(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g)) {
      const t = path.join(path.dirname(f), m[1]);
      const hit = [t + '.ts', path.join(t, 'index.ts'), t].find((c) => existsSync(path.join(ROOT, c)) && c.endsWith('.ts'));
      if (hit) deps.push(hit);
    }
    g.set(f, deps);
  }
  return g;
}

const within = (f: string, dir: string) => f === dir + '.ts' || f.startsWith(dir + '/');

describe('layout', () => {
  const g = graph();
  const forbidden: [string, string, string][] = [
    ['daemon/engine', 'daemon/embed', 'descriptors plug in through engine/descriptors/types.ts'],
    ['daemon/engine', 'daemon/project', 'the engine knows nothing of project files'],
    ['daemon/engine', 'daemon/server', 'the engine knows nothing of the language server'],
    ['daemon/engine', 'daemon/store', 'the engine returns results in memory; the store keeps them'],
    ['daemon/media', 'daemon/engine', 'media is below the engine'],
    ['daemon/core', 'daemon', 'core is the floor: nothing of ours but protocol/ below it'],
    ['protocol', 'daemon', 'protocol is plain data shared with the extension and the webview'],
    ['extension', 'daemon', 'the extension is a thin client: it talks to the daemon over LSP'],
    ['webview/src', 'daemon', 'the webview only knows protocol/webview.ts'],
    ['webview/src', 'extension', 'the webview only knows protocol/webview.ts'],
  ];
  for (const [from, to, why] of forbidden) {
    it(`${from}/ does not import ${to}/ (${why})`, () => {
      const bad = [...g].flatMap(([f, deps]) => (within(f, from) ? deps.filter((d) => within(d, to) && !within(d, from)).map((d) => `${f} → ${d}`) : []));
      assert.deepEqual(bad, []);
    });
  }
  it('has no import circles', () => {
    // Tarjan's strongly connected components: any component of two or more files is a circle.
    const index = new Map<string, number>();
    const low = new Map<string, number>();
    const stack: string[] = [];
    const on = new Set<string>();
    const circles: string[][] = [];
    let n = 0;
    const visit = (v: string) => {
      index.set(v, n);
      low.set(v, n++);
      stack.push(v);
      on.add(v);
      for (const w of g.get(v) ?? []) {
        if (!index.has(w)) {
          visit(w);
          low.set(v, Math.min(low.get(v)!, low.get(w)!));
        } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
      if (low.get(v) === index.get(v)) {
        const comp: string[] = [];
        for (let w = ''; w !== v; ) {
          w = stack.pop()!;
          on.delete(w);
          comp.push(w);
        }
        if (comp.length > 1) circles.push(comp);
      }
    };
    for (const v of g.keys()) if (!index.has(v)) visit(v);
    assert.deepEqual(circles, []);
  });
  it('reads the sources it checks', () => {
    assert.ok(FILES.length > 80, `found ${FILES.length} files`);
    assert.ok((g.get('daemon/engine/align.ts') ?? []).length > 5);
  });
});
