/**
 * What one idle connection holds on the server's V8 heap, object by object: a server (wsmesh
 * from a tsc build, or raw `ws`) takes a heap snapshot after `base` connections and another
 * after `base + count`, both after a forced GC; the difference, grouped by constructor and
 * divided by `count`, is printed for each, with the heap used and external memory per
 * connection (`process.memoryUsage()`, what S4 reports as heap + external). The connections
 * are ordinary clients (the wsmesh `Client`, or a `ws` WebSocket) in a child process.
 * `--by-retainer` groups the objects made after the first snapshot by what holds them
 * (the first strong retainer, followed up past arrays, contexts and plain objects), which
 * tells whose arrays, strings and property stores they are.
 *
 * ```sh
 * npx tsx bench/idle-heap.ts                 # 2,000 connections after 200, wsmesh and ws
 * npx tsx bench/idle-heap.ts --count 5000 --top 30
 * npx tsx bench/idle-heap.ts --rounds 3      # medians of 3 runs (the table of the last)
 * npx tsx bench/idle-heap.ts --by-retainer --only wsmesh --top 60
 * ```
 * @module
 */
import { fork } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { writeHeapSnapshot } from 'node:v8';
import { WebSocket, WebSocketServer } from 'ws';
import { REPO_ROOT } from './lib/children.js';
import { buildWsMesh, WSMESH_ENTRY_ENV } from './lib/wsmesh-build.js';
import { loadWsMesh } from './lib/wsmesh-module.js';

type Kind = 'wsmesh' | 'ws';
/** Bytes and objects per connection, by constructor (or by V8 node type). */
type Table = Record<string, { bytes: number; count: number }>;

const SNAPSHOT_DIR = join(REPO_ROOT, 'bench', 'results', 'tmp');
const self = fileURLToPath(import.meta.url);

interface Snapshot {
  snapshot: {
    meta: {
      node_fields: string[];
      node_types: [string[]];
      edge_fields: string[];
      edge_types: [string[]];
    };
  };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** A snapshot's nodes, each keyed (by constructor, or by retainer) and tallied. */
interface Tally {
  /** Self size and count per key. */
  totals: Map<string, [number, number]>;
  /**
   * Ids of every node, sorted (to tell the new ones in a later snapshot). A typed array: its
   * contents are off the heap, so holding it does not show in the later snapshot.
   */
  ids: Uint32Array;
}

/**
 * The key of a node: constructor name (objects, closures) or node type (the rest); with
 * `retainers`, followed by its first strong retainer's key and the edge's name, which tells
 * apart e.g. the arrays of one class from those of another.
 */
/** Keys of holders that say little by themselves. */
const ANONYMOUS = /^(\(|system |Array$|Object$|closure )/;

function tally(file: string, retainers: boolean, newerThan?: Uint32Array): Tally {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const { meta } = parsed.snapshot;
  const fields = meta.node_fields;
  const types = meta.node_types[0];
  const edgeTypes = meta.edge_types[0];
  const [typeAt, nameAt, idAt, sizeAt, edgeCountAt] = [
    'type',
    'name',
    'id',
    'self_size',
    'edge_count',
  ].map((f) => fields.indexOf(f));
  const nodeAt = (index: number, field: number | undefined): number =>
    parsed.nodes[index + (field ?? 0)] ?? 0;
  const keyOf = (index: number): string => {
    const type = types[nodeAt(index, typeAt)] ?? '?';
    const name = parsed.strings[nodeAt(index, nameAt)] ?? '';
    return type === 'object' ? name : type === 'closure' ? `closure ${name}` : `(${type})`;
  };
  // First strong retainer of each node (by node index), and the name of its edge.
  const retainer = new Map<number, [number, string]>();
  if (retainers) {
    const edgeFieldCount = meta.edge_fields.length;
    for (let index = 0, edge = 0; index < parsed.nodes.length; index += fields.length) {
      const edges = nodeAt(index, edgeCountAt);
      for (let e = 0; e < edges; e++, edge += edgeFieldCount) {
        const edgeType = edgeTypes[parsed.edges[edge] ?? 0] ?? '?';
        const to = parsed.edges[edge + 2] ?? 0;
        if (edgeType === 'weak' || edgeType === 'shortcut' || retainer.has(to)) continue;
        const nameOrIndex = parsed.edges[edge + 1] ?? 0;
        const edgeName =
          edgeType === 'element' || edgeType === 'hidden'
            ? `[${edgeType}]`
            : (parsed.strings[nameOrIndex] ?? '?');
        retainer.set(to, [index, edgeName]);
      }
    }
  }
  const totals = new Map<string, [number, number]>();
  const ids = new Uint32Array(parsed.nodes.length / fields.length);
  for (let index = 0; index < parsed.nodes.length; index += fields.length) {
    const id = nodeAt(index, idAt);
    ids[index / fields.length] = id;
    if (newerThan !== undefined && sortedHas(newerThan, id)) continue;
    let key = keyOf(index);
    // Up the retainers past anonymous holders (arrays, contexts, plain objects): 3 at most.
    for (let by = retainer.get(index), depth = 0; by !== undefined && depth < 3; depth++) {
      const holder = keyOf(by[0]);
      key += ` <- ${holder}.${by[1]}`;
      if (!ANONYMOUS.test(holder)) break;
      by = retainer.get(by[0]);
    }
    const entry = totals.get(key) ?? [0, 0];
    entry[0] += nodeAt(index, sizeAt);
    entry[1] += 1;
    totals.set(key, entry);
  }
  return { totals, ids: ids.sort() };
}

function sortedHas(sorted: Uint32Array, value: number): boolean {
  let [low, high] = [0, sorted.length - 1];
  while (low <= high) {
    const middle = (low + high) >>> 1;
    const found = sorted[middle] ?? 0;
    if (found === value) return true;
    if (found < value) low = middle + 1;
    else high = middle - 1;
  }
  return false;
}

function collect(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
}

function snapshotTally(name: string, retainers: boolean, newerThan?: Uint32Array): Tally {
  collect();
  const file = writeHeapSnapshot(
    join(SNAPSHOT_DIR, `idle-heap-${process.pid}-${name}.heapsnapshot`),
  );
  try {
    return tally(file, retainers, newerThan);
  } finally {
    rmSync(file, { force: true });
  }
}

async function startServer(kind: Kind): Promise<{ port: number; stop: () => Promise<void> }> {
  if (kind === 'wsmesh') {
    const { Server } = await loadWsMesh();
    const server = new Server({ port: 0, host: '127.0.0.1', silent: true });
    await server.start();
    return { port: server.port ?? 0, stop: () => server.stop() };
  }
  // As the bench's raw ws contender: no client set, no compression.
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: false,
    clientTracking: false,
  });
  wss.on('connection', (ws) => ws.on('error', () => ws.terminate()));
  await new Promise((resolve) => wss.once('listening', resolve));
  const { port } = wss.address() as AddressInfo;
  return { port, stop: () => new Promise((resolve) => wss.close(() => resolve())) };
}

/**
 * The tally of the first snapshot. By retainer only its ids are kept: its keys and totals
 * would show as new objects in the second snapshot.
 */
function firstTally(retainers: boolean): Tally {
  const tallied = snapshotTally('before', retainers);
  return retainers ? { totals: new Map(), ids: tallied.ids } : tallied;
}

/** What a server answers: the table, and heap and external bytes per connection. */
interface Measured {
  table: Table;
  heapUsed: number;
  external: number;
}

/** Server role: opens connections through a client child, snapshots, answers the table. */
async function serve(
  kind: Kind,
  base: number,
  count: number,
  retainers: boolean,
): Promise<Measured> {
  const { port, stop } = await startServer(kind);
  const client = fork(self, [], {
    env: { ...process.env, IDLE_ROLE: 'client', IDLE_KIND: kind, IDLE_PORT: String(port) },
  });
  const opened = (total: number): Promise<void> =>
    new Promise((resolve, reject) => {
      client.once('message', () => resolve());
      client.once('exit', () => reject(new Error('the client process ended')));
      client.send(total);
    });
  try {
    await opened(base);
    const before = firstTally(retainers);
    // Measured with the first tally held, as the second measure is.
    collect();
    const usageBefore = process.memoryUsage();
    await opened(base + count);
    collect();
    const usageAfter = process.memoryUsage();
    // By retainer: only the nodes made since the first snapshot (keys would not match).
    const after = snapshotTally('after', retainers, retainers ? before.ids : undefined);
    const table: Table = {};
    for (const [key, [bytes, objects]] of after.totals) {
      const [bytesBefore, objectsBefore] = retainers ? [0, 0] : (before.totals.get(key) ?? [0, 0]);
      table[key] = {
        bytes: (bytes - bytesBefore) / count,
        count: (objects - objectsBefore) / count,
      };
    }
    return {
      table,
      heapUsed: (usageAfter.heapUsed - usageBefore.heapUsed) / count,
      external: (usageAfter.external - usageBefore.external) / count,
    };
  } finally {
    client.kill();
    await stop();
  }
}

/** Client role: holds connections, opening more each time the parent sends a total. */
function holdConnections(kind: Kind, port: number): void {
  const held: { close: () => unknown }[] = [];
  const one = async (): Promise<void> => {
    if (kind === 'wsmesh') {
      const { Client } = await loadWsMesh();
      const connection = new Client({
        url: `ws://127.0.0.1:${port}/`,
        reconnect: false,
        silent: true,
      });
      await connection.start();
      held.push({ close: () => connection.stop() });
      return;
    }
    const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    held.push(ws);
  };
  process.on('message', (total: number) => {
    void (async () => {
      while (held.length < total) {
        await Promise.all(Array.from({ length: Math.min(100, total - held.length) }, one));
      }
      process.send?.('opened');
    })();
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? 0)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

function runServer(kind: Kind, entry: string, values: Record<string, string>): Promise<Measured> {
  const child = fork(self, [], {
    execArgv: ['--import', 'tsx', '--expose-gc'],
    env: {
      ...process.env,
      [WSMESH_ENTRY_ENV]: entry,
      IDLE_ROLE: 'server',
      IDLE_KIND: kind,
      IDLE_BASE: values.base,
      IDLE_COUNT: values.count,
      IDLE_RETAINERS: values.retainers,
    },
  });
  return new Promise<Measured>((resolve, reject) => {
    child.once('message', (measured: Measured) => resolve(measured));
    child.once('exit', (code) => reject(new Error(`the ${kind} server process ended (${code})`)));
  });
}

async function orchestrate(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string', default: '200' },
      count: { type: 'string', default: '2000' },
      top: { type: 'string', default: '20' },
      rounds: { type: 'string', default: '1' },
      only: { type: 'string' },
      'by-retainer': { type: 'boolean', default: false },
    },
  });
  const entry = buildWsMesh();
  const kinds: Kind[] =
    values.only === 'wsmesh' || values.only === 'ws' ? [values.only] : ['wsmesh', 'ws'];
  const settings = {
    base: values.base,
    count: values.count,
    retainers: values['by-retainer'] ? '1' : '',
  };
  const runs: Record<Kind, Measured[]> = { wsmesh: [], ws: [] };
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const kind of kinds) runs[kind].push(await runServer(kind, entry, settings));
  }
  const total = (table: Table): number =>
    Object.values(table).reduce((sum, row) => sum + row.bytes, 0);
  const what = values['by-retainer'] ? 'new objects' : 'heap snapshot';
  console.log(
    `Bytes per idle connection (${values.count} connections after ${values.base}; median of ${values.rounds}):`,
  );
  for (const kind of kinds) {
    const measured = runs[kind];
    const figures = [
      `${what} ${median(measured.map((m) => total(m.table))).toFixed(0)}`,
      `heapUsed ${median(measured.map((m) => m.heapUsed)).toFixed(0)}`,
      `external ${median(measured.map((m) => m.external)).toFixed(0)}`,
      `heap+external ${median(measured.map((m) => m.heapUsed + m.external)).toFixed(0)}`,
    ];
    console.log(`  ${kind.padEnd(6)} ${figures.join(', ')}`);
  }
  // The rows of the last round: of wsmesh less ws, or of the one kind measured.
  const [mesh, raw] = [runs.wsmesh.at(-1)?.table ?? {}, runs.ws.at(-1)?.table ?? {}];
  console.log(
    kinds.length === 2
      ? 'Largest differences (wsmesh - ws), bytes and objects per connection:'
      : `Largest rows (${kinds[0]}), bytes and objects per connection:`,
  );
  const keys = [...new Set([...Object.keys(mesh), ...Object.keys(raw)])];
  const rows = keys.map(
    (key) =>
      [
        key,
        (mesh[key]?.bytes ?? 0) - (raw[key]?.bytes ?? 0),
        (mesh[key]?.count ?? 0) - (raw[key]?.count ?? 0),
      ] as const,
  );
  rows.sort((a, b) => Math.abs(b[1]) - Math.abs(a[1]));
  for (const [key, bytes, objects] of rows.slice(0, Number(values.top))) {
    console.log(`  ${bytes.toFixed(0).padStart(6)} B ${objects.toFixed(2).padStart(6)}  ${key}`);
  }
}

const role = process.env.IDLE_ROLE;
const kind: Kind = process.env.IDLE_KIND === 'ws' ? 'ws' : 'wsmesh';
if (role === 'server') {
  const measured = await serve(
    kind,
    Number(process.env.IDLE_BASE),
    Number(process.env.IDLE_COUNT),
    process.env.IDLE_RETAINERS === '1',
  );
  // Disconnecting only once the answer is written: a large one would otherwise be cut off.
  process.send?.(measured, () => process.disconnect?.());
} else if (role === 'client') holdConnections(kind, Number(process.env.IDLE_PORT));
else await orchestrate();
