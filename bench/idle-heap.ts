/**
 * What one idle connection holds on the server's V8 heap, object by object: a server (wsmesh
 * from a tsc build, or raw `ws`) takes a heap snapshot after `base` connections and another
 * after `base + count`, both after a forced GC; the difference, grouped by constructor and
 * divided by `count`, is printed for each. The connections are ordinary clients (the wsmesh
 * `Client`, or a `ws` WebSocket) in a child process.
 *
 * ```sh
 * npx tsx bench/idle-heap.ts                 # 2,000 connections after 200, wsmesh and ws
 * npx tsx bench/idle-heap.ts --count 5000 --top 30
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
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Self size and count per constructor name (objects, closures) or node type (the rest). */
function tally(file: string): Map<string, [number, number]> {
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  const fields = parsed.snapshot.meta.node_fields;
  const types = parsed.snapshot.meta.node_types[0];
  const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
  const totals = new Map<string, [number, number]>();
  for (let index = 0; index < parsed.nodes.length; index += fields.length) {
    const type = types[parsed.nodes[index + (typeAt ?? 0)] ?? 0] ?? '?';
    const name = parsed.strings[parsed.nodes[index + (nameAt ?? 0)] ?? 0] ?? '';
    const key = type === 'object' ? name : type === 'closure' ? `closure ${name}` : `(${type})`;
    const entry = totals.get(key) ?? [0, 0];
    entry[0] += parsed.nodes[index + (sizeAt ?? 0)] ?? 0;
    entry[1] += 1;
    totals.set(key, entry);
  }
  return totals;
}

function snapshotTally(name: string): Map<string, [number, number]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  const file = writeHeapSnapshot(
    join(SNAPSHOT_DIR, `idle-heap-${process.pid}-${name}.heapsnapshot`),
  );
  try {
    return tally(file);
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

/** Server role: opens connections through a client child, snapshots, answers the table. */
async function serve(kind: Kind, base: number, count: number): Promise<Table> {
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
    const before = snapshotTally('before');
    await opened(base + count);
    const after = snapshotTally('after');
    const table: Table = {};
    for (const [key, [bytes, objects]] of after) {
      const [bytesBefore, objectsBefore] = before.get(key) ?? [0, 0];
      table[key] = {
        bytes: (bytes - bytesBefore) / count,
        count: (objects - objectsBefore) / count,
      };
    }
    return table;
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

async function orchestrate(): Promise<void> {
  const { values } = parseArgs({
    options: {
      base: { type: 'string', default: '200' },
      count: { type: 'string', default: '2000' },
      top: { type: 'string', default: '20' },
    },
  });
  const entry = buildWsMesh();
  const tables: Partial<Record<Kind, Table>> = {};
  for (const kind of ['wsmesh', 'ws'] as const) {
    const child = fork(self, [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: {
        ...process.env,
        [WSMESH_ENTRY_ENV]: entry,
        IDLE_ROLE: 'server',
        IDLE_KIND: kind,
        IDLE_BASE: values.base,
        IDLE_COUNT: values.count,
      },
    });
    tables[kind] = await new Promise<Table>((resolve, reject) => {
      child.once('message', (table: Table) => resolve(table));
      child.once('exit', (code) => reject(new Error(`the ${kind} server process ended (${code})`)));
    });
  }
  const [mesh, raw] = [tables.wsmesh ?? {}, tables.ws ?? {}];
  const total = (table: Table): number =>
    Object.values(table).reduce((sum, row) => sum + row.bytes, 0);
  console.log(`Heap bytes per idle connection (${values.count} connections after ${values.base}):`);
  console.log(
    `  wsmesh ${total(mesh).toFixed(0)}, raw ws ${total(raw).toFixed(0)} (${(total(mesh) / total(raw)).toFixed(2)}x)`,
  );
  console.log('Largest differences (wsmesh - ws), bytes and objects per connection:');
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
  const table = await serve(kind, Number(process.env.IDLE_BASE), Number(process.env.IDLE_COUNT));
  process.send?.(table);
  process.disconnect?.();
} else if (role === 'client') holdConnections(kind, Number(process.env.IDLE_PORT));
else await orchestrate();
