/**
 * A dialing wsmesh peer facing a hostile listener (a stale clone url someone else took, a
 * wrong address): it must not hang, loop fast, or give away anything reusable.
 */
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { Client } from '../src/index.js';
import { startClone } from './clone-helpers.js';
import { Cleanup, waitFor } from './helpers.js';

const SECRET = 'attack-tests-shared-secret-0123456789';

/** A listener that completes the WebSocket upgrade and then says nothing, ever. */
async function startSilent(): Promise<{
  url: string;
  connections: () => number;
  close(): Promise<void>;
}> {
  let connections = 0;
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => [...protocols][0] ?? false,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', () => connections++);
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    connections: () => connections,
    close: () =>
      new Promise((resolve) => {
        for (const ws of wss.clients) ws.terminate();
        wss.close(() => resolve());
      }),
  };
}

describe('a dialer facing a listener that never answers HELLO', () => {
  test('a Client gives the attempt up after handshakeTimeout and dials again', async () => {
    const cleanup = new Cleanup();
    try {
      const silent = await startSilent();
      cleanup.add(() => silent.close());
      const client = new Client({
        url: silent.url,
        handshakeTimeout: 300,
        serverSecret: SECRET,
      });
      cleanup.add(() => client.stop());
      void client.start().catch(() => undefined);
      await waitFor(() => silent.connections() >= 2, 5000, 'a second attempt');
    } finally {
      await cleanup.run();
    }
  });

  test('a clone link gives the attempt up and dials again', async () => {
    const cleanup = new Cleanup();
    try {
      const silent = await startSilent();
      cleanup.add(() => silent.close());
      const a = await startClone('hang-a', { serverSecret: SECRET });
      cleanup.add(() => a.server.stop());
      a.server.addClone({ id: 'hang-b', url: silent.url });
      await waitFor(() => silent.connections() >= 1, 5000, 'the first attempt');
      // The dialer's own timeout is max(2 x cloneInterval, 5 s); it must try again after it.
      await waitFor(() => silent.connections() >= 2, 9000, 'a second attempt');
      assert.ok(silent.connections() >= 2);
    } finally {
      await cleanup.run();
    }
  });
});
