/**
 * NATS users and permissions: the subjects docs/backplane.md lists are all a node needs (a
 * user allowed only `<prefix>.>` runs groups, discovery, function tables and RPC); a user
 * without those permissions, or a wrong password, fails start() with a clear AuthError.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AuthError, Client, RpcProxy, Server } from '../src/index.js';
import { natsBackplane } from '../src/nats.js';
import { stopAll, waitFor, within } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';

/** The permissions example of docs/backplane.md, with test passwords. */
const CONFIG = `
authorization {
  users = [
    {
      user: wsmesh-node
      password: node-secret
      permissions: {
        publish: { allow: ["wsmesh.>"] }
        subscribe: { allow: ["wsmesh.>"] }
      }
    }
    {
      user: wsmesh-no-secret
      password: limited-secret
      permissions: {
        publish: { allow: ["wsmesh.>"] }
        subscribe: { allow: ["wsmesh.>"], deny: ["wsmesh.g.secret"] }
      }
    }
    {
      user: orders-app
      password: orders-secret
      permissions: {
        publish: { allow: ["orders.>"] }
        subscribe: { allow: ["orders.>"] }
      }
    }
  ]
}
`;

describe('NATS backplane: users and permissions', { skip }, () => {
  let nats: NatsCluster;
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'wsmesh-nats-'));
    const file = join(dir, 'nats.conf');
    writeFileSync(file, CONFIG);
    nats = await startNatsCluster(2, ['-c', file]);
  });
  after(async () => {
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('a user allowed only <prefix>.> runs discovery, groups and RPC', async () => {
    const credentials = { user: 'wsmesh-node', pass: 'node-secret' };
    const a = await startNatsServer(
      nats.urls[0] as string,
      { id: 'A', serverSecret: 's' },
      credentials,
    );
    const b = await startNatsServer(
      nats.urls[1] as string,
      { id: 'B', serverSecret: 's' },
      credentials,
      (s) => {
        s.origin(function twice(n: number) {
          return 2 * n;
        });
        s.origin(function* count() {
          yield 1;
          yield 2;
        });
      },
    );
    const member = new Client({ id: 'm', url: b.url, reconnect: false });
    const got: unknown[] = [];
    member.addRoute({ route: 'r', handler: ({ mes }) => void got.push(mes.data) });
    const publisher = new Client({ id: 'p', url: a.url, reconnect: false });
    const errors: unknown[] = [];
    a.server.on('error', (error) => errors.push(error));
    b.server.on('error', (error) => errors.push(error));
    let proxy: RpcProxy | undefined;
    try {
      await member.start();
      await member.subscribe({ id: 'g' });
      await publisher.start();
      await waitFor(() => a.server.clones.clones.has('B'), 5000, 'A sees B');
      // The function table is fetched by request: its reply subject is under the prefix too.
      proxy = await RpcProxy.create({ url: a.url, serverSecret: 's' });
      await waitFor(() => proxy?.functions.some((f) => f.name === 'twice'), 5000, 'table');
      assert.equal(await proxy.call('twice', 21), 42);
      const items: unknown[] = [];
      for await (const item of proxy.stream('count')) items.push(item);
      assert.deepEqual(items, [1, 2]);
      await waitFor(
        async () => {
          await publisher.sendMesToGroup({ id: 'g', route: 'r', data: 'hi' });
          return got.length > 0;
        },
        5000,
        'group message',
        50,
      );
      assert.deepEqual(errors, [], 'no permission violation reported');
    } finally {
      await proxy?.close().catch(() => undefined);
      await stopAll(member, publisher, a.server, b.server);
    }
  });

  test('a user without permission on the prefix: start() rejects with AuthError', async () => {
    const server = new Server({
      port: 0,
      host: '127.0.0.1',
      backplane: natsBackplane({ servers: nats.urls, user: 'orders-app', pass: 'orders-secret' }),
    });
    const error = await within(server.start(), 5000, 'start()').then(
      () => assert.fail('start() should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AuthError, String(error));
    assert.match((error as Error).message, /permission/i);
    assert.match((error as Error).message, /wsmesh\./);
    assert.equal(server.active, false);
    assert.equal(server.port, undefined, 'no listener was opened');
  });

  test('a subject denied after start is reported through the error event', async () => {
    const { server, url } = await startNatsServer(
      nats.urls[0] as string,
      { id: 'LIMITED' },
      { user: 'wsmesh-no-secret', pass: 'limited-secret' },
    );
    const errors: unknown[] = [];
    server.on('error', ({ error }) => errors.push(error));
    const client = new Client({ id: 'c', url, reconnect: false });
    try {
      await client.start();
      await client.subscribe({ id: 'open' });
      await client.subscribe({ id: 'secret' });
      await waitFor(() => errors.length > 0, 5000, 'error event');
      const [error] = errors;
      assert.ok(error instanceof AuthError, String(error));
      assert.match((error as Error).message, /wsmesh\.g\.secret/);
      assert.equal(errors.length, 1, 'only the denied subject');
      assert.equal(server.stats().backplane?.status, 'connected');
    } finally {
      await stopAll(client, server);
    }
  });

  test('a wrong password: start() rejects with AuthError at once', async () => {
    const server = new Server({
      port: 0,
      host: '127.0.0.1',
      backplane: natsBackplane({ servers: nats.urls, user: 'wsmesh-node', pass: 'wrong' }),
    });
    const started = Date.now();
    const error = await within(server.start(), 5000, 'start()').then(
      () => assert.fail('start() should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof AuthError, String(error));
    assert.match((error as Error).message, /credentials/);
    assert.ok(Date.now() - started < 3000);
    assert.equal(server.port, undefined);
  });
});
