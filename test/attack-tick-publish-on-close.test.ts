/**
 * A `closeClient` listener publishes to the group while the sockets write the tick
 * (a slow consumer closed as its socket catches up): the reader gets every message exactly
 * once, in publish order, with the left-out one skipped.
 */
import assert from 'node:assert/strict';
import type { Socket } from 'node:net';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import type { ServerConnection } from '../src/server/server-connection.js';
import { startServer, stopAll, waitFor } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

function seqs(peer: PackPeer): number[] {
  const out: number[] = [];
  for (const frame of peer.messages.flat()) {
    if (!Array.isArray(frame) || frame[1] !== 'flood') continue;
    const list =
      frame[0] === FrameType.GROUP_MESSAGE
        ? [frame[4]]
        : frame[0] === FrameType.GROUP_MESSAGES
          ? (frame[4] as unknown[])
          : [];
    for (const d of list) out.push((d as { n: number }).n);
  }
  return out;
}

for (const order of ['stalled first', 'reader first'] as const) {
  for (const hello of [{ batch: true, pack: true }, { batch: true }]) {
    test(
      `publish from closeClient during flush (${order}, ${JSON.stringify(hello)})`,
      { timeout: 30_000 },
      async () => {
        const started = await startServer({ maxBufferedBytes: 64 * 1024 });
        try {
          const { server } = started;
          const first = await packPeer(started.url, hello);
          const second = await packPeer(started.url, hello);
          const [stalled, reader] = order === 'stalled first' ? [first, second] : [second, first];
          const stalledWs = server.clients.get(String(stalled.welcome.connectionId));
          const readerWs = server.clients.get(String(reader.welcome.connectionId));
          const third = await packPeer(started.url, hello);
          const thirdWs = server.clients.get(String(third.welcome.connectionId));
          assert.ok(stalledWs !== undefined && readerWs !== undefined && thirdWs !== undefined);
          for (const ws of [first, second, third].map((p) =>
            server.clients.get(String(p.welcome.connectionId)),
          )) {
            server.groups.addSubscriber({ id: 'flood', ws: ws as ServerConnection });
          }
          let seq = 0;
          const readerWant: number[] = [];
          const thirdWant: number[] = [];
          const publish = (pad: string, without?: 'reader' | 'third'): void => {
            const n = ++seq;
            server.groups.sendMes({
              id: 'flood',
              route: 'm',
              data: { n, pad },
              ...(without === undefined
                ? {}
                : { withoutId: without === 'reader' ? readerWs.id : thirdWs.id }),
            });
            if (without !== 'reader') readerWant.push(n);
            if (without !== 'third') thirdWant.push(n);
          };
          let closedCode: number | undefined;
          server.on('closeClient', ({ ws, code }) => {
            if (ws !== stalledWs) return;
            closedCode = code;
            publish('c1');
            publish('c2', 'reader');
            publish('c3', 'third');
            publish('c4');
          });
          (stalled.raw.ws as unknown as { _socket: Socket })._socket.pause();
          const chunk = 'z'.repeat(16 * 1024);
          for (let tick = 0; tick < 200 && closedCode === undefined; tick++) {
            for (let index = 0; index < 16; index++)
              publish(chunk, index % 5 === 0 ? 'third' : undefined);
            await new Promise((resolve) => setImmediate(resolve));
          }
          assert.equal(closedCode, 4008);
          publish('after');
          await waitFor(
            () => seqs(reader).at(-1) === seq && seqs(third).at(-1) === seq,
            10_000,
            'all received',
          );
          assert.deepEqual(seqs(reader), readerWant);
          assert.deepEqual(seqs(third), thirdWant);
        } finally {
          await stopAll(started.server);
        }
      },
    );
  }
}
