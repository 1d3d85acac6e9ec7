/**
 * The layer rule of README's Layout section, over every import of src/ (type imports
 * included, which eslint's import-x/no-cycle does not follow): each import goes to the same
 * layer or a lower one, and no set of modules imports each other in a cycle.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('../src', import.meta.url));

/** Rank of each top-level directory or file of src/: a module imports only equal or lower. */
const LAYERS: Record<string, number> = {
  'errors.ts': 0,
  protocol: 1,
  util: 1,
  transport: 2,
  routing: 3,
  groups: 3,
  rpc: 3,
  handshake: 3,
  cluster: 4,
  backplane: 4,
  nats: 4,
  ops: 5,
  server: 6,
  client: 6,
  'index.ts': 7,
  'browser.ts': 7,
  'client-node.ts': 7,
  'nats.ts': 7,
  cli: 8,
};

const SIDE_BY_SIDE = { client: true, server: true };

function sourceFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) sourceFiles(path, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(path);
  }
  return out;
}

/** Relative imports and re-exports of each module (`import type` and `export type` too). */
function importGraph(): Map<string, string[]> {
  const files = sourceFiles(SRC);
  const known = new Set(files);
  const graph = new Map<string, string[]>();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const targets: string[] = [];
    for (const match of text.matchAll(/^(?:import|export)\s[^;]*?from\s+'(\.[^']+)'/gms)) {
      const target = resolve(dirname(file), (match[1] ?? '').replace(/\.js$/, '.ts'));
      assert.ok(known.has(target), `${relative(SRC, file)} imports a missing ${match[1]}`);
      targets.push(target);
    }
    graph.set(file, targets);
  }
  return graph;
}

const layerOf = (file: string): string => relative(SRC, file).split('/')[0] ?? '';

/** Strongly connected components with more than one module (Tarjan). */
function cycles(graph: Map<string, string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
    }
    if (low.get(v) === index.get(v)) {
      const component: string[] = [];
      let w: string | undefined;
      do {
        w = stack.pop();
        if (w === undefined) break;
        onStack.delete(w);
        component.push(relative(SRC, w));
      } while (w !== v);
      if (component.length > 1) found.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return found;
}

test('every import of src/ goes to the same layer or a lower one, client and server apart', () => {
  const graph = importGraph();
  const upward: string[] = [];
  for (const [file, targets] of graph) {
    const from = layerOf(file);
    assert.ok(from in LAYERS, `src/${from} has no layer: add it to LAYERS and README's Layout`);
    for (const target of targets) {
      const to = layerOf(target);
      // The client and the server sit side by side: neither imports the other.
      const across = from !== to && from in SIDE_BY_SIDE && to in SIDE_BY_SIDE;
      if (across || (LAYERS[to] ?? 0) > (LAYERS[from] ?? 0))
        upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
    }
  }
  assert.deepEqual(upward, []);
});

test('no import cycle in src/, type imports included', () => {
  assert.deepEqual(cycles(importGraph()), []);
});
