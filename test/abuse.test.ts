/**
 * Abusive clients: memory stays bounded and every breach gets a clear error or close code,
 * while a well-behaved client on the same server keeps being served.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FrameType } from '../src/protocol/frames.js';
import { connectRaw, isFrame, startClient, startServer, stopAll, waitFor } from './helpers.js';

// A full collection before each reading, so the figures are what is retained, not garbage.
setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc') as () => void;

/** Heap in use after a full collection, in MiB. */
function retainedHeapMiB(): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

describe('abusive clients', () => {
  test('100,000 subscriptions from one client: capped at maxGroupsPerConnection, memory bounded', async () => {
    const { server, url } = await startServer({}, (s) =>
      s.addRoute({ route: 'echo', handler: ({ data }) => data }),
    );
    const good = await startClient(url);
    const abuser = await connectRaw(url);
    try {
      const before = retainedHeapMiB();
      for (let i = 0; i < 100_000; i++)
        abuser.send([FrameType.SUBSCRIBE, i === 99_999 ? 1 : 0, `g${i}`]);
      const last = (await abuser.waitForFrame((frame) => isFrame(frame, FrameType.ERROR, 1), {
        timeoutMs: 60_000,
      })) as unknown[];
      assert.equal((last[2] as { code: string }).code, 'ERR_LIMIT');
      assert.equal(server.groups.size, 10_000);
      assert.equal(await good.sendMes({ route: 'echo', data: 'ok', awaitRes: true }), 'ok');
      // What the raw peer received is test memory, not the server's.
      abuser.frames.length = 0;
      // Measured about 4.2 MiB (about 430 bytes per group held). The 90,000 refused
      // subscriptions must leave nothing behind: keeping even 70 bytes for each crosses this.
      const held = retainedHeapMiB() - before;
      console.log(`    heap retained ${held.toFixed(1)} MiB for 10,000 groups (100,000 asked)`);
      assert.ok(held < 6, `heap retained ${held.toFixed(1)} MiB for 10,000 groups`);
      abuser.terminate();
      await waitFor(() => server.groups.size === 0, 10_000, 'groups released');
      // Measured about 0.55 MiB once the groups are gone.
      const left = retainedHeapMiB() - before;
      assert.ok(
        left < 1.5,
        `heap still holds ${left.toFixed(1)} MiB after the groups were released`,
      );
    } finally {
      abuser.terminate();
      await stopAll(good, server);
    }
  });

  test('thousands of pending requests: the ones past maxInFlight fail with ERR_LIMIT', async () => {
    const { server, url } = await startServer({}, (s) => {
      s.addRoute({ route: 'hang', handler: () => new Promise(() => undefined) });
      s.addRoute({ route: 'echo', handler: ({ data }) => data });
    });
    const good = await startClient(url);
    const abuser = await connectRaw(url);
    try {
      for (let id = 1; id <= 5000; id++) abuser.send([FrameType.MESSAGE, id, 'hang', null, null]);
      const refused = (await abuser.waitForFrame((frame) => isFrame(frame, FrameType.ERROR, 5000), {
        timeoutMs: 30_000,
      })) as unknown[];
      assert.equal((refused[2] as { code: string }).code, 'ERR_LIMIT');
      const ws = [...server.clients.values()].find((connection) => connection.inFlight > 0);
      assert.equal(ws?.inFlight, 1000);
      assert.equal(await good.sendMes({ route: 'echo', data: 1, awaitRes: true }), 1);
    } finally {
      abuser.terminate();
      await stopAll(good, server);
    }
  });

  test('frames just under maxPayload pass; just over close that connection with 1009', async () => {
    const maxPayload = 64 * 1024;
    const { server, url } = await startServer({ maxPayload }, (s) =>
      s.addRoute({ route: 'len', handler: ({ data }) => String(data).length }),
    );
    const good = await startClient(url);
    const peer = await connectRaw(url);
    try {
      // [2,1,"len",null,"..."] puts 19 bytes around the string: this frame is maxPayload - 2.
      const under = 'x'.repeat(maxPayload - 21);
      const reply = await peer.request('len', null, under);
      assert.deepEqual(reply, [FrameType.REPLY, 1, under.length]);
      peer.send([FrameType.MESSAGE, 2, 'len', null, `${under}yyy`]); // maxPayload + 1
      const closed = await peer.waitClose(5000);
      assert.equal(closed.code, 1009);
      assert.equal(await good.sendMes({ route: 'len', data: 'abc', awaitRes: true }), 3);
    } finally {
      peer.terminate();
      await stopAll(good, server);
    }
  });
});
