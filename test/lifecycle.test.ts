/**
 * Lifecycle and parity with the clone library (issue 18, point 3): `start()` settles before
 * `open` listeners run, so `stop()` inside one is safe; `stop` is emitted while the client is
 * still connected; `addClone` of a clone that refused us dials again at once; unknown
 * options are refused with `InvalidOptionError`; `cbAfterRes` gets `{error, res: null}`.
 * (Group events are in test/groups.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Client,
  ErrorCode,
  InvalidOptionError,
  RpcProxy,
  Server,
  TimeoutError,
  type ResponseResult,
} from '../src/index.js';
import { startClone } from './clone-helpers.js';
import { nextEvent, serverUrl, startClient, startServer, stopAll, waitFor } from './helpers.js';

/** Asserts that `action` throws (or rejects with) an InvalidOptionError matching `pattern`. */
async function refused(action: () => unknown, pattern: RegExp): Promise<void> {
  let error: unknown;
  try {
    await action();
  } catch (caught) {
    error = caught;
  }
  assert.ok(
    error instanceof InvalidOptionError,
    `expected InvalidOptionError, got ${String(error)}`,
  );
  assert.equal(error.code, ErrorCode.INVALID_OPTION);
  assert.match(error.message, pattern);
}

describe('start() and open', () => {
  test('start() is settled before open listeners run; stop() inside one does not reject it', async () => {
    const { server } = await startServer();
    const client = new Client({ url: serverUrl(server) });
    const order: string[] = [];
    const starting = client.start();
    let startSettled = false;
    void starting.then(
      () => (startSettled = true),
      () => (startSettled = true),
    );
    client.on('open', () => {
      order.push('open');
      void client.stop();
    });
    try {
      await starting; // resolves: the connection was made
      order.push('started');
      await waitFor(() => client.getInfo().state === 'stopped');
      assert.deepEqual(order, ['open', 'started']);
      assert.equal(startSettled, true);
    } finally {
      await stopAll(client, server);
    }
  });

  test('un-awaited start() with stop() in an open listener leaves no unhandled rejection', async () => {
    const { server } = await startServer();
    const client = new Client({ url: serverUrl(server) });
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason);
    };
    process.on('unhandledRejection', onUnhandled);
    try {
      const stopped = nextEvent(client, 'stop');
      client.on('open', () => void client.stop());
      void client.start();
      await stopped;
      await waitFor(() => client.getInfo().state === 'stopped');
      // Rejections are reported after the microtask queue drains; give it a macrotask.
      await new Promise((resolve) => setImmediate(resolve));
      assert.deepEqual(unhandled, []);
    } finally {
      process.off('unhandledRejection', onUnhandled);
      await stopAll(client, server);
    }
  });
});

describe('stop', () => {
  test('stop is emitted while the client is still connected: what a listener sends arrives', async () => {
    const { server } = await startServer();
    const got: unknown[] = [];
    server.addRoute({ route: 'bye', handler: ({ data }) => void got.push(data) });
    const client = await startClient(serverUrl(server));
    client.on('stop', ({ client: stopping }) => {
      assert.equal(stopping.connected, true);
      void stopping.sendMes({ route: 'bye', data: 'last words' });
    });
    try {
      await client.stop();
      await waitFor(() => got.length === 1);
      assert.deepEqual(got, ['last words']);
      assert.equal(client.connected, false);
    } finally {
      await stopAll(client, server);
    }
  });

  test('stop() inside a stop listener returns the same stop; the event comes once', async () => {
    const { server } = await startServer();
    const client = await startClient(serverUrl(server));
    let stops = 0;
    client.on('stop', () => {
      stops++;
      void client.stop();
    });
    try {
      await client.stop();
      assert.equal(stops, 1);
      assert.equal(client.getInfo().state, 'stopped');
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('addClone', () => {
  test('addClone of a clone that refused us dials it again at once', async () => {
    // With cloneInterval 2000 a refused dial waits 8-16 s before the next attempt.
    const target = await startClone('redial-target', {
      cloneInterval: 2000,
      authFnIn: (value) => value === 'good',
    });
    const dialer = await startClone('redial-dialer', { cloneInterval: 2000 });
    try {
      const refusedEvent = nextEvent(dialer.server, 'authError');
      dialer.server.addClone({ id: target.id, url: target.url, authFnOut: () => 'bad' });
      await refusedEvent;
      const started = Date.now();
      dialer.server.addClone({ id: target.id, url: target.url, authFnOut: () => 'good' });
      await waitFor(() => dialer.server.clones.linkedIds().includes(target.id), 3000, 'linked');
      assert.ok(Date.now() - started < 3000);
    } finally {
      await stopAll(dialer.server, target.server);
    }
  });
});

describe('unknown options are refused with InvalidOptionError', () => {
  test('constructors: new Server, new Client, RpcProxy.create (with did-you-mean)', async () => {
    await refused(
      () => new Server({ port: 0, cloneIntervall: 10 } as never),
      /"cloneIntervall".*"cloneInterval"/,
    );
    await refused(
      () => new Client({ url: 'ws://127.0.0.1:1/', reconectTimeout: 10 } as never),
      /new Client\(\): unknown option "reconectTimeout" \(did you mean "reconnectTimeout"\?\)/,
    );
    await refused(
      () => new Client({ url: 'ws://127.0.0.1:1/', urls: [] } as never),
      /"urls".*"url"/,
    );
    await refused(
      () => RpcProxy.create({ url: 'ws://127.0.0.1:1/', secret: 'x' } as never),
      /RpcProxy.create\(\): unknown option "secret"/,
    );
  });

  test('server.start({server}) and client.start(options)', async () => {
    const server = new Server({ port: 0, host: '127.0.0.1' });
    try {
      await refused(
        () => server.start({ server: {} } as never),
        /server.start\(\): unknown option "server": give it to new Server\(\{ server \}\)/,
      );
      assert.equal(server.active, false);
      await server.start({ backlog: 16 });
      const client = new Client({ url: serverUrl(server) });
      const start = client.start as (options: unknown) => Promise<void>;
      await refused(
        () => start.call(client, { reconnect: false }),
        /client.start\(\) takes no options/,
      );
      assert.equal(client.getInfo().state, 'idle');
    } finally {
      await server.stop();
    }
  });

  test('sendMes({cbAfterSend}), sendMesToGroup and groups.sendMes', async () => {
    const { server } = await startServer();
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    const client = await startClient(serverUrl(server));
    try {
      await refused(
        () => client.sendMes({ route: 'echo', cbAfterSend: () => undefined } as never),
        /sendMes\(\): unknown option "cbAfterSend": sendMes\(\) resolves once the message is written/,
      );
      await refused(
        () => client.sendMesToGroup({ id: 'g', notSendme: true } as never),
        /"notSendme".*"notSendMe"/,
      );
      await refused(
        () => server.groups.sendMes({ id: 'g', notSendMe: true } as never),
        /groups.sendMes\(\): unknown option "notSendMe"/,
      );
      const [ws] = server.clients.values();
      assert.ok(ws !== undefined);
      await refused(
        () => ws.sendMes({ route: 'x', awaitRes: true, cbAfterSend: 1 } as never),
        /cbAfterSend/,
      );
      assert.equal(await client.sendMes({ route: 'echo', data: 1, awaitRes: true }), 1);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('cbAfterRes', () => {
  test('gets {res} with the reply and {error, res: null} on error', async () => {
    const { server } = await startServer();
    server.addRoute({ route: 'echo', handler: ({ data }) => data });
    server.addRoute({ route: 'slow', handler: () => new Promise(() => undefined) });
    const client = await startClient(serverUrl(server));
    try {
      const ok = await new Promise<ResponseResult>((resolve) => {
        void client.sendMes({ route: 'echo', data: 'hi', cbAfterRes: resolve });
      });
      assert.deepEqual(ok, { res: 'hi' });
      const failed = await new Promise<ResponseResult>((resolve) => {
        void client.sendMes({ route: 'slow', timeout: 20, cbAfterRes: resolve });
      });
      assert.ok(failed.error instanceof TimeoutError);
      assert.equal(failed.res, null);
      assert.deepEqual(Object.keys(failed).sort(), ['error', 'res']);
    } finally {
      await stopAll(client, server);
    }
  });
});
