/**
 * sockets sharing a tick lane's batch then continue it differently (each left out
 * of a different message): every peer gets exactly its messages, in order, packs or not.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import type { ServerConnection } from '../src/server/server-connection.js';
import { startServer, stopAll, waitFor, type RawCodec } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

function datas(peer: PackPeer): unknown[] {
  const out: unknown[] = [];
  for (const frame of peer.messages.flat()) {
    if (!Array.isArray(frame) || frame[1] !== 'g') continue;
    if (frame[0] === FrameType.GROUP_MESSAGE) out.push(frame[4]);
    if (frame[0] === FrameType.GROUP_MESSAGES) out.push(...(frame[4] as unknown[]));
  }
  return out;
}

for (const codec of ['json', 'msgpack'] as RawCodec[]) {
  for (const pack of [true, false]) {
    test(`lane batch forked (${codec}, pack ${pack})`, { timeout: 20_000 }, async () => {
      const started = await startServer();
      try {
        const { server } = started;
        const peers: PackPeer[] = [];
        const wss: ServerConnection[] = [];
        for (let i = 0; i < 4; i++) {
          const peer = await packPeer(started.url, { batch: true, pack }, codec);
          const ws = server.clients.get(String(peer.welcome.connectionId));
          assert.ok(ws !== undefined);
          server.groups.addSubscriber({ id: 'g', ws });
          peers.push(peer);
          wss.push(ws);
        }
        await waitFor(() =>
          peers.every((p) =>
            p.messages.flat().some((f) => Array.isArray(f) && f[0] === FrameType.MEMBERSHIP),
          ),
        );
        const want: unknown[][] = [[], [], [], []];
        let n = 0;
        const send = (without?: number): void => {
          const data = `m${++n}`;
          server.groups.sendMes({
            id: 'g',
            route: 'm',
            data,
            ...(without === undefined ? {} : { withoutId: (wss[without] as ServerConnection).id }),
          });
          for (let i = 0; i < 4; i++) if (i !== without) (want[i] as unknown[]).push(data);
        };
        send();
        send();
        send();
        send(0);
        send(1);
        send(2);
        send();
        send(0);
        send(3);
        await waitFor(
          () => peers.every((p, i) => datas(p).length >= (want[i] as unknown[]).length),
          5000,
          'received',
        );
        server.groups.sendMes({ id: 'g', route: 'm', data: 'end' });
        await waitFor(() => peers.every((p) => datas(p).includes('end')), 5000, 'end');
        for (let i = 0; i < 4; i++)
          assert.deepEqual(
            datas(peers[i] as PackPeer),
            [...(want[i] as unknown[]), 'end'],
            `peer ${i}`,
          );
      } finally {
        await stopAll(started.server);
      }
    });
  }
}
