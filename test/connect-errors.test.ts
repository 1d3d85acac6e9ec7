/**
 * A client that cannot connect says why (issue 18, point 2; SPEC section 10): refused, DNS,
 * HTTP status, TLS, timeout and authentication failures reach `connect_error` and `error`
 * with the cause in the message and in `error.cause`; a silent client with no listener
 * writes the first failure of an outage to the console once; `failFast` makes `start()`
 * reject with that error; `reconnect: false` and `attempts` reject with it too.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { BaseClient } from '../src/client/base-client.js';
import {
  AuthError,
  Client,
  ErrorCode,
  NotConnectedError,
  RpcProxy,
  type WsMeshError,
} from '../src/index.js';
import { connectFailure, type ConnectFailureData } from '../src/client/connect-failure.js';
import { createBrowserDialer, type WebSocketConstructor } from '../src/transport/browser-dialer.js';
import { getFreePort, nextEvent, serverUrl, startServer, stopAll, waitFor } from './helpers.js';

/** A url where nothing listens. */
async function deadUrl(): Promise<string> {
  return `ws://127.0.0.1:${await getFreePort()}/`;
}

/** `error.data` of a failed connection attempt. */
function failureData(error: unknown): ConnectFailureData {
  assert.ok(error instanceof Error);
  return (error as WsMeshError).data as ConnectFailureData;
}

/** Resolves with the rejection of `promise` (fails the test if it resolves). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  assert.fail('expected the promise to reject');
}

/** Runs `body` with `console.error` captured; returns the lines written. */
async function captureConsoleError(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (...args: unknown[]) => {
    lines.push(args.map(String).join(' '));
  };
  try {
    await body();
  } finally {
    console.error = original;
  }
  return lines;
}

describe('why a connection attempt failed', () => {
  test('refused: connect_error and error carry the url, the reason and the socket error as cause', async () => {
    const url = await deadUrl();
    const client = new Client({ url, reconnectTimeout: 5000 });
    try {
      const connectError = nextEvent(client, 'connect_error');
      const failed = nextEvent(client, 'error');
      const starting = rejection(client.start());
      const event = await connectError;
      assert.equal(event.client, client);
      assert.equal(event.url, url);
      assert.equal(event.attempt, 1);
      const { error } = event;
      assert.ok(error instanceof NotConnectedError);
      assert.equal(error.code, ErrorCode.NOT_CONNECTED);
      assert.equal((await failed).error, error, 'error carries the same error');
      assert.ok(error.message.includes(url), error.message);
      assert.match(error.message, /connection refused/);
      assert.match(error.message, /ECONNREFUSED/);
      assert.ok(error.cause instanceof Error);
      assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED');
      assert.deepEqual(failureData(error), { url, reason: 'refused', closeCode: 1006 });
      await client.stop();
      await starting;
    } finally {
      await client.stop();
    }
  });

  test('HTTP status: a wrong path reports 404 (and reconnect: false rejects start() with it)', async () => {
    const { server } = await startServer({ path: '/ws' });
    const url = serverUrl(server, '/wrong');
    const client = new Client({ url, reconnect: false });
    try {
      const event = nextEvent(client, 'connect_error');
      const error = await rejection(client.start());
      assert.equal((await event).error, error, 'start() rejects with the reported error');
      assert.ok(error instanceof NotConnectedError);
      assert.match(error.message, /HTTP 404/);
      assert.match(error.message, /Not Found/);
      assert.match(error.message, /path/);
      assert.equal((error.cause as { status?: number }).status, 404);
      assert.deepEqual(failureData(error), { url, reason: 'http', status: 404, closeCode: 1006 });
    } finally {
      await stopAll(client, server);
    }
  });

  test('TLS: wss:// to a plain port reports a TLS failure', async () => {
    const { server } = await startServer();
    const url = `wss://127.0.0.1:${server.port ?? 0}/`;
    const client = new Client({ url, failFast: true });
    try {
      const error = await rejection(client.start());
      assert.ok(error instanceof NotConnectedError);
      assert.match(error.message, /TLS failed/);
      assert.equal(failureData(error).reason, 'tls');
      assert.ok(error.cause instanceof Error);
    } finally {
      await stopAll(client, server);
    }
  });

  test('timeout: a server that never answers the wsmesh handshake', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const { port } = wss.address() as { port: number };
    const client = new Client({
      url: `ws://127.0.0.1:${port}/`,
      handshakeTimeout: 100,
      failFast: true,
    });
    try {
      const error = await rejection(client.start());
      assert.ok(error instanceof NotConnectedError);
      assert.match(error.message, /timed out/);
      assert.equal(failureData(error).reason, 'timeout');
    } finally {
      await client.stop();
      for (const socket of wss.clients) socket.terminate();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
    }
  });

  test('auth: refused credentials give up at once with an AuthError naming the cause', async () => {
    const { server } = await startServer({
      authenticate: ({ credentials }) => {
        if (credentials !== 'good') throw new Error('bad token');
        return true;
      },
    });
    const client = new Client({ url: serverUrl(server), credentials: 'bad' });
    try {
      const event = nextEvent(client, 'connect_error');
      const error = await rejection(client.start());
      assert.ok(error instanceof AuthError);
      assert.equal((await event).error, error);
      assert.match(error.message, /authentication refused/);
      assert.ok(error.cause instanceof AuthError);
      assert.equal(failureData(error).reason, 'auth');
      assert.equal(client.getInfo().state, 'stopped');
    } finally {
      await stopAll(client, server);
    }
  });

  test('DNS and other socket errors are named from their code', () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.invalid'), {
      code: 'ENOTFOUND',
    });
    const error = connectFailure('ws://nowhere.invalid/', dns, 1006, '');
    assert.ok(error instanceof NotConnectedError);
    assert.match(error.message, /host not found/);
    assert.equal(error.cause, dns);
    assert.equal(failureData(error).reason, 'dns');
    const cert = Object.assign(new Error('self-signed certificate'), {
      code: 'DEPTH_ZERO_SELF_SIGNED_CERT',
    });
    assert.equal(failureData(connectFailure('wss://h/', cert, 1006, '')).reason, 'tls');
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    assert.equal(failureData(connectFailure('ws://h/', reset, 1006, '')).reason, 'network');
    const closed = connectFailure('ws://h/', undefined, 1002, 'bad hello');
    assert.match(closed.message, /closed the connection before it was established \(1002 bad/);
    assert.equal(failureData(closed).reason, 'closed');
    assert.ok(connectFailure('ws://h/', undefined, 4003, '') instanceof AuthError);
  });
});

describe('failing loudly', () => {
  test('a silent client with no error listener writes the first failure of an outage once', async () => {
    const url = await deadUrl();
    const lines = await captureConsoleError(async () => {
      const client = new Client({ url, attempts: 3, reconnectTimeout: 10 });
      const error = await rejection(client.start());
      assert.ok(error instanceof NotConnectedError);
      assert.match(error.message, /Gave up after 3 failed attempts; the last: Could not connect/);
      assert.ok(error.cause instanceof NotConnectedError);
    });
    const failures = lines.filter((line) => line.includes('Could not connect'));
    assert.equal(failures.length, 1, lines.join('\n'));
    assert.ok(failures[0]?.includes(url));
    assert.match(failures[0] ?? '', /retrying every 10 ms/);
  });

  test('with an error (or connect_error) listener nothing is written', async () => {
    const url = await deadUrl();
    for (const event of ['error', 'connect_error'] as const) {
      const lines = await captureConsoleError(async () => {
        const client = new Client({ url, attempts: 2, reconnectTimeout: 10 });
        let seen = 0;
        client.on(event, () => seen++);
        await rejection(client.start());
        assert.ok(seen >= 2);
      });
      assert.deepEqual(lines, []);
    }
  });

  test('each new outage is written once again', async () => {
    const port = await getFreePort();
    const url = `ws://127.0.0.1:${port}/`;
    let { server } = await startServer({ port });
    const client = new Client({ url, reconnectTimeout: 10 });
    try {
      const lines = await captureConsoleError(async () => {
        await client.start();
        await server.stop();
        await waitFor(() => client.getInfo().failedAttempts >= 3);
        ({ server } = await startServer({ port }));
        await waitFor(() => client.connected);
        await server.stop();
        await waitFor(() => client.getInfo().failedAttempts >= 3);
      });
      assert.equal(lines.filter((line) => line.includes('Could not connect')).length, 2);
    } finally {
      await stopAll(client, server);
    }
  });
});

describe('failFast', () => {
  test('default: start() keeps waiting through failures (as Socket.IO), failFast: true rejects', async () => {
    const url = await deadUrl();
    const patient = new Client({ url, reconnectTimeout: 10 });
    const impatient = new Client({ url, failFast: true, reconnectTimeout: 10 });
    patient.on('error', () => undefined);
    impatient.on('error', () => undefined);
    try {
      let settled = false;
      const waiting = patient.start().then(
        () => (settled = true),
        () => (settled = true),
      );
      await waitFor(() => patient.getInfo().failedAttempts >= 3);
      assert.equal(settled, false, 'start() still waits');

      const stopped = nextEvent(impatient, 'stop');
      const error = await rejection(impatient.start());
      assert.ok(error instanceof NotConnectedError);
      assert.equal(failureData(error).reason, 'refused');
      await stopped;
      assert.equal(impatient.getInfo().state, 'stopped');
      assert.equal(impatient.getInfo().failedAttempts, 1);
      await patient.stop();
      await waiting;
    } finally {
      await stopAll(patient, impatient);
    }
  });

  test('with several urls every url is tried once before start() rejects', async () => {
    const urls = [await deadUrl(), await deadUrl()];
    const client = new Client({ url: urls, failFast: true, reconnectTimeout: 10 });
    const tried: string[] = [];
    client.on('connect_error', ({ url }) => tried.push(url));
    try {
      await rejection(client.start());
      assert.deepEqual(tried, urls);
    } finally {
      await client.stop();
    }
  });

  test('after a first connection, failFast does not stop reconnecting', async () => {
    const port = await getFreePort();
    let { server } = await startServer({ port });
    const client = new Client({
      url: `ws://127.0.0.1:${port}/`,
      failFast: true,
      reconnectTimeout: 10,
    });
    client.on('error', () => undefined);
    try {
      await client.start();
      await server.stop();
      await waitFor(() => client.getInfo().failedAttempts >= 2);
      assert.equal(client.getInfo().state, 'waiting');
      ({ server } = await startServer({ port }));
      await waitFor(() => client.connected);
    } finally {
      await stopAll(client, server);
    }
  });

  test('RpcProxy.create rejects with the cause too', async () => {
    const url = await deadUrl();
    const error = await rejection(RpcProxy.create({ url }));
    assert.ok(error instanceof NotConnectedError);
    assert.match(error.message, /connection refused/);
    assert.equal((error.cause as { code?: string }).code, 'ECONNREFUSED');
  });
});

describe('browser client', () => {
  test('reports a failed attempt with what the platform tells (nothing more than an error event)', async () => {
    const url = await deadUrl();
    const dialer = createBrowserDialer(WebSocket as unknown as WebSocketConstructor);
    const client = new BaseClient({ url, failFast: true }, dialer);
    try {
      const event = nextEvent(client, 'connect_error');
      const error = await rejection(client.start());
      assert.equal((await event).error, error);
      assert.ok(error instanceof NotConnectedError);
      assert.ok(error.message.includes(url));
      assert.match(error.message, /browser reported a WebSocket error/);
      assert.equal(failureData(error).reason, 'network');
      assert.ok(error.cause instanceof Error);
    } finally {
      await client.stop();
    }
  });
});
