/**
 * A batching peer resuming (SUBSCRIBE_SINCE, history on) while the group has open
 * ticks: every message published is received exactly once, in order, by the resumer and by
 * a member that takes whole ticks.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import { startServer, stopAll, waitFor } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

function datas(peer: PackPeer): number[] {
  const out: number[] = [];
  for (const frame of peer.messages.flat()) {
    if (!Array.isArray(frame)) continue;
    if (frame[0] === FrameType.GROUP_MESSAGE && frame[1] === 'g') out.push(frame[4] as number);
    if (frame[0] === FrameType.GROUP_MESSAGES && frame[1] === 'g')
      out.push(...(frame[4] as number[]));
  }
  return out;
}

for (const pack of [false, true]) {
  test(`resume during open ticks (pack ${pack})`, { timeout: 30_000 }, async () => {
    const started = await startServer({ history: { size: 10_000 } });
    try {
      const { server } = started;
      const member = await packPeer(started.url, { batch: true, pack });
      await member.subscribe('g');
      let seq = 0;
      const TOTAL = 600;
      let stop = false;
      const pump = (): void => {
        if (stop || seq >= TOTAL) return;
        // Several messages per tick, one with the member left out... none here: all get all.
        for (let i = 0; i < 5 && seq < TOTAL; i++)
          server.groups.sendMes({ id: 'g', route: 'm', data: ++seq });
        setImmediate(pump);
      };
      pump();
      await waitFor(() => seq >= 50, 5000, 'pump started');
      const resumers: PackPeer[] = [];
      for (let r = 0; r < 3; r++) {
        const peer = await packPeer(started.url, { batch: true, pack });
        peer.raw.send([FrameType.SUBSCRIBE_SINCE, 1, 'g', { s: {}, t: 0 }]);
        resumers.push(peer);
      }
      await waitFor(() => seq >= TOTAL, 10_000, 'all published');
      stop = true;
      const want = Array.from({ length: TOTAL }, (_, i) => i + 1);
      await waitFor(
        () => datas(member).length >= TOTAL && resumers.every((p) => datas(p).length >= TOTAL),
        10_000,
        'all received',
      );
      assert.deepEqual(datas(member), want);
      for (const peer of resumers) assert.deepEqual(datas(peer), want);
    } finally {
      await stopAll(started.server);
    }
  });
}
