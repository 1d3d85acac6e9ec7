/**
 * Configurable limits and the `authenticate` hook: each breach gets a clear error or close
 * code, and other connections are not affected.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Client } from '../src/client/client.js';
import { upgradeStatus, startClient, startServer, stopAll, waitFor } from './helpers.js';

describe('limits', () => {
  test('maxConnections refuses upgrades beyond the limit with HTTP 503', async () => {
    const { server, url } = await startServer({ maxConnections: 2 });
    const a = await startClient(url);
    const b = await startClient(url);
    try {
      assert.equal(await upgradeStatus(url, 'wsmesh.v1.json'), 503);
      assert.equal(server.stats().rejectedConnections, 1);
      await a.stop();
      await waitFor(() => server.clients.size === 1);
      const c = await startClient(url);
      await c.stop();
    } finally {
      await stopAll(a, b, server);
    }
  });

  test('maxGroupsPerConnection: the subscription past the limit fails with ERR_LIMIT', async () => {
    const { server, url } = await startServer({ maxGroupsPerConnection: 3 });
    const client = await startClient(url);
    try {
      for (const id of ['a', 'b', 'c']) await client.subscribe({ id });
      await assert.rejects(client.subscribe({ id: 'd' }), { code: 'ERR_LIMIT' });
      assert.deepEqual(client.getMyGroups().sort(), ['a', 'b', 'c']);
      await client.subscribe({ id: 'a' }); // already a member: not a new group
    } finally {
      await stopAll(client, server);
    }
  });

  test('maxInFlight: requests beyond the limit fail with ERR_LIMIT while the others complete', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const { server, url } = await startServer({ maxInFlight: 10 }, (s) => {
      s.addRoute({ route: 'wait', handler: async () => gate.then(() => 'done') });
    });
    const client = await startClient(url);
    try {
      const calls = Array.from({ length: 15 }, () =>
        client.sendMes({ route: 'wait', awaitRes: true }).then(
          (value) => ({ ok: true, value }),
          (error: { code?: string }) => ({ ok: false, value: error.code }),
        ),
      );
      await waitFor(() => [...server.clients.values()][0]?.inFlight === 10);
      release();
      const results = await Promise.all(calls);
      assert.equal(results.filter((r) => r.ok).length, 10);
      assert.deepEqual(
        results.filter((r) => !r.ok).map((r) => r.value),
        Array(5).fill('ERR_LIMIT'),
      );
    } finally {
      await stopAll(client, server);
    }
  });

  test('rateLimit: requests over the budget fail with ERR_RATE_LIMIT; other clients are served', async () => {
    const { server, url } = await startServer(
      { rateLimit: { messages: 20, interval: 60_000 } },
      (s) => {
        s.addRoute({ route: 'echo', handler: ({ data }) => data });
      },
    );
    const noisy = await startClient(url);
    const quiet = await startClient(url);
    try {
      const results = await Promise.allSettled(
        Array.from({ length: 30 }, (_, i) =>
          noisy.sendMes({ route: 'echo', data: i, awaitRes: true }),
        ),
      );
      const refused = results.filter((r) => r.status === 'rejected');
      assert.equal(results.length - refused.length, 20);
      for (const r of refused) assert.equal((r.reason as { code: string }).code, 'ERR_RATE_LIMIT');
      assert.equal(await quiet.sendMes({ route: 'echo', data: 'ok', awaitRes: true }), 'ok');
      assert.equal(server.stats().rateLimited, 10);
    } finally {
      await stopAll(noisy, quiet, server);
    }
  });
});

describe('authenticate hook', () => {
  test('credentials reach the hook; its result is kept as ws.auth; a refusal closes with 4003', async () => {
    const { server, url } = await startServer(
      {
        authenticate: ({ credentials }) =>
          credentials === 'good-token' ? { user: 'alice' } : false,
      },
      (s) => s.addRoute({ route: 'whoami', handler: ({ ws }) => ws.auth }),
    );
    const good = await startClient(url, { credentials: async () => 'good-token' });
    const bad = new Client({ url, credentials: 'bad-token', reconnect: false });
    try {
      assert.deepEqual(await good.sendMes({ route: 'whoami', awaitRes: true }), { user: 'alice' });
      await assert.rejects(bad.start(), { code: 'ERR_AUTH' });
      assert.equal(server.clients.size, 1);
    } finally {
      await stopAll(good, bad, server);
    }
  });

  test('frames sent before the hook answers wait and never reach handlers of refused connections', async () => {
    let handled = 0;
    const { server, url } = await startServer(
      {
        authenticate: async ({ credentials }) => {
          await new Promise((resolve) => setTimeout(resolve, 50));
          return credentials === 'ok';
        },
      },
      (s) =>
        s.addRoute({
          route: 'count',
          handler: () => {
            handled++;
            return handled;
          },
        }),
    );
    const refused = new Client({ url, credentials: 'nope', reconnect: false });
    const accepted = new Client({ url, credentials: 'ok', reconnect: false });
    try {
      refused.start().catch(() => undefined);
      accepted.start().catch(() => undefined);
      // Queued before the handshake completes: sent right behind HELLO.
      const fromRefused = refused
        .sendMes({ route: 'count', awaitRes: true })
        .catch((e: { code: string }) => e.code);
      const fromAccepted = accepted.sendMes({ route: 'count', awaitRes: true });
      assert.equal(await fromAccepted, 1);
      assert.notEqual(await fromRefused, 1);
      assert.equal(handled, 1);
    } finally {
      await stopAll(refused, accepted, server);
    }
  });
});
