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
import { FrameType } from '../src/protocol/frames.js';
import { Cleanup, rawPackr, waitFor } from './helpers.js';

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

  test(
    'a clone link gives the attempt up and dials again',
    { todo: 'src/cluster/peer-dialer.ts has no deadline after the WebSocket upgrade' },
    async () => {
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
    },
  );
});

describe('a clone mesh without serverSecret, and an impostor at a clone url', () => {
  // Not fixable in the handshake: without a secret the dialing side has nothing to check but
  // the id, which any client learns from WELCOME. Bearer tokens cannot authenticate both ways
  // (whoever presents first gives its token away). The fix is to say so and to require
  // serverSecret (or wss:// with a verified certificate) for clone links that leave the host.
  test(
    'an impostor that claims the known id gets neither the token nor clone powers',
    { todo: 'without serverSecret the dialer cannot tell a peer from an impostor' },
    async () => {
      const cleanup = new Cleanup();
      try {
        const received: unknown[] = [];
        const impostor = new WebSocketServer({
          port: 0,
          host: '127.0.0.1',
          handleProtocols: (protocols) => [...protocols][0] ?? false,
        });
        cleanup.add(() => new Promise((resolve) => impostor.close(resolve)));
        await new Promise<void>((resolve) => impostor.once('listening', () => resolve()));
        let closed = 0;
        impostor.on('connection', (ws) => {
          ws.on('close', () => closed++);
          ws.on('message', (data: Buffer) => {
            const frame = rawPackr.unpack(data) as unknown[];
            received.push(frame);
            if (frame[0] === FrameType.HELLO) {
              // The id of the clone that used to listen here: WELCOME tells it to any client.
              const challenge = { serverId: 'victim-b', nonce: 'A'.repeat(24) };
              ws.send(rawPackr.pack([FrameType.CHALLENGE, challenge]));
            }
            if (frame[0] === FrameType.AUTH) {
              const welcome = {
                v: 2,
                serverId: 'victim-b',
                connectionId: 'x',
                maxPayload: 1 << 20,
              };
              ws.send(rawPackr.pack([FrameType.WELCOME, welcome]));
              ws.send(rawPackr.pack([FrameType.CLONE_SYNC, [], [['evil', 'ws://127.0.0.1:1/']]]));
            }
          });
        });
        const impostorUrl = `ws://127.0.0.1:${(impostor.address() as AddressInfo).port}/`;
        const a = await startClone('victim-a', {
          authFnIn: (value) => value === 'TOKEN-SECRET-VALUE',
          authFnOut: () => 'TOKEN-SECRET-VALUE',
        });
        cleanup.add(() => a.server.stop());
        a.server.addClone({ id: 'victim-b', url: impostorUrl });
        // Either the dialer hangs up on the impostor, or it answered CHALLENGE and took its
        // CLONE_SYNC (learned the injected clone).
        await waitFor(
          () => closed > 0 || a.server.clones.clones.has('evil'),
          5000,
          'the dialer hung up or took the gossip',
        );
        assert.ok(!JSON.stringify(received).includes('TOKEN-SECRET-VALUE'), 'token given away');
        assert.ok(!a.server.clones.clones.has('evil'), 'a clone injected by the impostor');
      } finally {
        await cleanup.run();
      }
    },
  );
});
