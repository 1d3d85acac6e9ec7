/**
 * Clones and RPC together: functions registered on one clone are callable from every clone's
 * clients; a local function wins; duplicates on other clones share the load.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Server } from '../src/server/server.js';
import { getFreePort, startClient, stopAll, waitFor } from './helpers.js';

async function mesh(ids: string[]): Promise<Server[]> {
  const servers: Server[] = [];
  for (const id of ids) {
    const port = await getFreePort();
    const server = new Server({ id, port, host: '127.0.0.1', url: `ws://127.0.0.1:${port}` });
    await server.start();
    servers.push(server);
  }
  // A chain of addClone: the mesh completes itself.
  for (let i = 1; i < servers.length; i++) {
    const previous = servers[i - 1] as Server;
    (servers[i] as Server).addClone({ id: previous.id, url: previous.url as string });
  }
  await waitFor(
    () => servers.every((s) => s.clones.linkedIds().length === servers.length - 1),
    10_000,
    'mesh',
  );
  return servers;
}

describe('clones share RPC functions', () => {
  test('a function on one clone is callable from clients of every clone', async () => {
    const servers = await mesh(['rpc-a', 'rpc-b', 'rpc-c']);
    const [a, , c] = servers as [Server, Server, Server];
    a.origin((x: number) => `a:${x}`, { namespace: 'tools', name: 'onlyOnA' });
    const client = await startClient(`ws://127.0.0.1:${String(c.port)}`);
    try {
      const tools = await client.rpc('tools');
      await waitFor(
        () => tools.functions.some((f) => f.name === 'onlyOnA'),
        5000,
        'function listed on c',
      );
      assert.equal(await tools.call('onlyOnA', 7), 'a:7');
    } finally {
      await stopAll(client, ...servers);
    }
  });

  test('duplicates on other clones share the load; a local function wins', async () => {
    const servers = await mesh(['lb-a', 'lb-b', 'lb-c']);
    const [a, b, c] = servers as [Server, Server, Server];
    const calls = new Map<string, number>();
    const register = (server: Server): void => {
      server.origin(
        async (x: number) => {
          calls.set(server.id, (calls.get(server.id) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 5));
          return x;
        },
        { namespace: 'pool', name: 'work' },
      );
    };
    register(b);
    register(c);
    const client = await startClient(`ws://127.0.0.1:${String(a.port)}`);
    try {
      const pool = await client.rpc('pool');
      await waitFor(() => pool.functions.some((f) => f.name === 'work'), 5000, 'work listed on a');
      await Promise.all(Array.from({ length: 100 }, (_, i) => pool.call('work', i)));
      assert.ok(
        (calls.get('lb-b') ?? 0) > 0 && (calls.get('lb-c') ?? 0) > 0,
        `both served: ${JSON.stringify([...calls])}`,
      );
      assert.equal((calls.get('lb-b') ?? 0) + (calls.get('lb-c') ?? 0), 100);
      register(a);
      calls.clear();
      await Promise.all(Array.from({ length: 20 }, (_, i) => pool.call('work', i)));
      assert.deepEqual([...calls], [['lb-a', 20]]);
    } finally {
      await stopAll(client, ...servers);
    }
  });

  test('a clone that stops takes its functions away from the others', async () => {
    const servers = await mesh(['gone-a', 'gone-b']);
    const [a, b] = servers as [Server, Server];
    b.origin(() => 'b', { namespace: 'tools', name: 'fromB' });
    const client = await startClient(`ws://127.0.0.1:${String(a.port)}`);
    try {
      const tools = await client.rpc('tools');
      await waitFor(() => tools.functions.some((f) => f.name === 'fromB'), 5000, 'listed');
      await b.stop();
      await waitFor(() => !tools.functions.some((f) => f.name === 'fromB'), 5000, 'gone');
      await assert.rejects(tools.call('fromB'), { code: 'ERR_NO_ROUTE' });
    } finally {
      await stopAll(client, ...servers);
    }
  });
});
