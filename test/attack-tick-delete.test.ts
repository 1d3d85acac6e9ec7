/**
 * in one tick, a member of several groups gets interleaved messages, a group is
 * deleted (server.groups.delete) and recreated, connections are left out, a direct message
 * goes in between, and finally the connection is closed server-side: every kind of peer
 * gets the same frames in send order, and the counts are the same for each kind.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import type { ServerConnection } from '../src/server/server-connection.js';
import { startServer, stopAll, waitFor, type RawCodec } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

const KINDS: { hello: { batch?: boolean; pack?: boolean }; codec: RawCodec }[] = [
  { hello: { batch: true, pack: true }, codec: 'json' },
  { hello: { batch: true }, codec: 'json' },
  { hello: { batch: true, pack: true }, codec: 'msgpack' },
  { hello: {}, codec: 'json' },
];

function seen(peer: PackPeer, from: number): unknown[] {
  const out: unknown[] = [];
  for (const frame of peer.messages.slice(from).flat()) {
    if (!Array.isArray(frame)) continue;
    const [type] = frame;
    if (type === FrameType.GROUP_MESSAGE) out.push([frame[1], frame[4]]);
    else if (type === FrameType.GROUP_MESSAGES)
      for (const d of frame[4] as unknown[]) out.push([frame[1], d]);
    else if (type === FrameType.MESSAGE) out.push(['direct', frame[4]]);
    else if (type === FrameType.MEMBERSHIP) out.push(['member', frame[1], frame[2]]);
  }
  return out;
}

for (const kind of KINDS) {
  test(`delete mid-tick, ${JSON.stringify(kind)}`, { timeout: 20_000 }, async () => {
    const started = await startServer();
    try {
      const { server } = started;
      const p = await packPeer(started.url, kind.hello, kind.codec);
      const other = await packPeer(started.url, { batch: true, pack: true });
      const ws = server.clients.get(String(p.welcome.connectionId)) as ServerConnection;
      const ows = server.clients.get(String(other.welcome.connectionId)) as ServerConnection;
      for (const g of ['a', 'b', 'c']) {
        server.groups.addSubscriber({ id: g, ws });
        server.groups.addSubscriber({ id: g, ws: ows });
      }
      await waitFor(() => seen(p, 0).filter((f) => (f as unknown[])[0] === 'member').length === 3);
      const from = p.messages.length;
      let closed = false;
      p.raw.ws.once('close', () => (closed = true));
      const counts: number[] = [];
      const send = (id: string, data: number, withoutId?: string): void => {
        counts.push(
          server.groups.sendMes({ id, route: 'm', data, ...(withoutId ? { withoutId } : {}) }),
        );
      };
      send('a', 1);
      send('b', 2);
      send('a', 3, ows.id);
      send('c', 4, ws.id);
      server.groups.delete({ id: 'b' });
      send('b', 5);
      send('a', 6);
      server.groups.addSubscriber({ id: 'b', ws });
      send('b', 7);
      void ws.sendMes({ route: 'direct', data: 8 });
      send('c', 9);
      server.groups.deleteSubscriber({ id: 'a', ws });
      send('a', 10);
      send('c', 11, ows.id);
      ws.close(4000, 'done');
      send('c', 12);
      await waitFor(() => closed, 5000, 'closed');
      assert.deepEqual(seen(p, from), [
        ['a', 1],
        ['b', 2],
        ['a', 3],
        ['member', 'b', false],
        ['a', 6],
        ['member', 'b', true],
        ['b', 7],
        ['direct', 8],
        ['c', 9],
        ['member', 'a', false],
        ['c', 11],
      ]);
      assert.deepEqual(counts, [2, 2, 1, 1, 0, 2, 1, 2, 1, 1, 1]);
    } finally {
      await stopAll(started.server);
    }
  });
}
