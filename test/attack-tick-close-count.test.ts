/**
 * delivery counts and frames when a server-side close or terminate happens in the
 * middle of a tick. A batching member (tick taker) must be counted like a non-batching one.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startServer, stopAll, type StartedServer } from './helpers.js';
import { packPeer } from './pack-peer.js';

describe('attack: close mid-tick', { timeout: 30_000 }, () => {
  let started: StartedServer;
  before(async () => {
    started = await startServer();
  });
  after(async () => stopAll(started.server));

  for (const how of ['close', 'terminate'] as const) {
    test(`${how} mid-tick: batching member counted like a non-batching one`, async () => {
      const { server } = started;
      const counts: Record<string, number[]> = {};
      for (const hello of [{ batch: true }, {}]) {
        const key = hello.batch === true ? 'batch' : 'plain';
        const group = `r3-${how}-${key}`;
        const a = await packPeer(started.url, hello);
        const b = await packPeer(started.url, hello);
        const wa = server.clients.get(String(a.welcome.connectionId));
        const wb = server.clients.get(String(b.welcome.connectionId));
        assert.ok(wa !== undefined && wb !== undefined);
        server.groups.addSubscriber({ id: group, ws: wa });
        server.groups.addSubscriber({ id: group, ws: wb });
        const list: number[] = [];
        list.push(server.groups.sendMes({ id: group, route: 'm', data: 1 }));
        if (how === 'close') wa.close(4000, 'bye');
        else
          (
            wa as unknown as { connection: { terminate(c: number, r: string): void } }
          ).connection.terminate(4000, 'gone');
        list.push(server.groups.sendMes({ id: group, route: 'm', data: 2 }));
        list.push(server.groups.sendMes({ id: group, route: 'm', data: 3, withoutId: wb.id }));
        list.push(server.groups.sendMes({ id: group, route: 'm', data: 4, withoutId: wa.id }));
        counts[key] = list;
      }
      assert.deepEqual(counts.batch, counts.plain);
    });
  }
});
