/**
 * What an idle client connection costs the server's heap, measured without noise: a heap
 * snapshot is walked from its roots without entering any connection object (the server's
 * ServerConnection, Connection, NodeWireSocket, ws WebSocket, net Socket and TCP handle);
 * what is left is only reachable through connections. Its growth from 50 to 250 connections
 * (clients in a child process), per connection, is bounded. It leaves out the growth of the
 * server's tables of connections (a few set and map entries), and counts the objects `ws` and
 * Node keep for any connection (about 2.5 KB).
 */
import assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { writeHeapSnapshot } from 'node:v8';
import { serverUrl, startServer } from './helpers.js';

/** Objects through which only one connection's objects are reached. */
const CONNECTION_OBJECTS = new Set([
  'ServerConnection',
  'Connection',
  'NodeWireSocket',
  'WebSocket',
  'Socket',
  'TCP',
]);

/** Bound on the bytes per idle connection. */
const MAX_BYTES = 3_100;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]]; edge_fields: string[] } };
  nodes: number[];
  edges: number[];
  strings: string[];
}

/** Bytes of the heap reached only through connection objects. */
function connectionBytes(dir: string): number {
  const file = writeHeapSnapshot(join(dir, `${Date.now()}.heapsnapshot`));
  const parsed = JSON.parse(readFileSync(file, 'utf8')) as Snapshot;
  rmSync(file);
  const {
    node_fields: fields,
    node_types: nodeTypes,
    edge_fields: edgeFields,
  } = parsed.snapshot.meta;
  const width = fields.length;
  const [typeAt, nameAt, sizeAt, edgesAt] = ['type', 'name', 'self_size', 'edge_count'].map(
    (field) => fields.indexOf(field),
  ) as [number, number, number, number];
  const objectType = nodeTypes[0].indexOf('object');
  const nodeCount = parsed.nodes.length / width;
  // Where each node's edges start.
  const firstEdge = new Uint32Array(nodeCount + 1);
  for (let node = 0; node < nodeCount; node++) {
    firstEdge[node + 1] = (firstEdge[node] ?? 0) + (parsed.nodes[node * width + edgesAt] ?? 0);
  }
  const blocked = (node: number): boolean =>
    parsed.nodes[node * width + typeAt] === objectType &&
    CONNECTION_OBJECTS.has(parsed.strings[parsed.nodes[node * width + nameAt] ?? 0] ?? '');
  const seen = new Uint8Array(nodeCount);
  const stack = [0];
  seen[0] = 1;
  while (stack.length > 0) {
    const node = stack.pop() ?? 0;
    if (blocked(node)) continue;
    for (let edge = firstEdge[node] ?? 0; edge < (firstEdge[node + 1] ?? 0); edge++) {
      const to = (parsed.edges[edge * edgeFields.length + 2] ?? 0) / width;
      if (seen[to] === 1) continue;
      seen[to] = 1;
      stack.push(to);
    }
  }
  let bytes = 0;
  for (let node = 0; node < nodeCount; node++) {
    if (seen[node] === 0 || blocked(node)) bytes += parsed.nodes[node * width + sizeAt] ?? 0;
  }
  return bytes;
}

test('an idle client connection holds a bounded number of bytes of the server heap', async () => {
  const { server } = await startServer({ silent: true });
  const dir = mkdtempSync(join(tmpdir(), 'wsmesh-idle-'));
  const fixture = fileURLToPath(new URL('./fixtures/idle-clients.ts', import.meta.url));
  const clients: ChildProcess = fork(fixture, [serverUrl(server)], {
    execArgv: ['--import', 'tsx'],
  });
  const open = async (total: number): Promise<void> => {
    clients.send(total);
    await once(clients, 'message');
  };
  try {
    await open(50);
    const before = connectionBytes(dir);
    await open(250);
    const after = connectionBytes(dir);
    const perConnection = (after - before) / 200;
    // 2,960 on Node 20 with ws 8 (3,192 before the idle-memory work); 200 B more crosses it.
    assert.ok(perConnection <= MAX_BYTES, `${perConnection} bytes per idle connection`);
  } finally {
    clients.disconnect();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
