/**
 * A batching subscriber on clone B gets group messages relayed from clone A
 * interleaved with B's own, several per tick: each publisher's messages arrive exactly
 * once and in order.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType } from '../src/protocol/frames.js';
import { startMesh, stopClones } from './clone-helpers.js';
import { waitFor } from './helpers.js';
import { packPeer, type PackPeer } from './pack-peer.js';

function datas(peer: PackPeer): { p: string; n: number }[] {
  const out: { p: string; n: number }[] = [];
  for (const frame of peer.messages.flat()) {
    if (!Array.isArray(frame) || frame[1] !== 'g') continue;
    if (frame[0] === FrameType.GROUP_MESSAGE) out.push(frame[4] as { p: string; n: number });
    if (frame[0] === FrameType.GROUP_MESSAGES)
      out.push(...(frame[4] as { p: string; n: number }[]));
  }
  return out.filter((d) => typeof d === 'object' && d !== null && 'n' in d);
}

test(
  'relayed and local messages interleaved to one batching subscriber',
  { timeout: 30_000 },
  async () => {
    const clones = await startMesh(['ra', 'rb']);
    try {
      const [a, b] = clones as [(typeof clones)[0], (typeof clones)[0]];
      const peers = [
        await packPeer(`${b.url}${b.server.path}`, { batch: true, pack: true }),
        await packPeer(`${b.url}${b.server.path}`, { batch: true }),
        await packPeer(`${b.url}${b.server.path}`, {}),
      ];
      for (const peer of peers) await peer.subscribe('g');
      // Wait until A knows B's interest.
      await waitFor(
        () => {
          a.server.groups.sendMes({ id: 'g', route: 'probe', data: 'probe' });
          return peers.every((peer) =>
            peer.messages.flat().some((f) => Array.isArray(f) && f[4] === 'probe'),
          );
        },
        5000,
        'interest',
        20,
      );
      const TOTAL = 300;
      let n = 0;
      await new Promise<void>((resolve) => {
        const pump = (): void => {
          for (let i = 0; i < 4 && n < TOTAL; i++) {
            n++;
            a.server.groups.sendMes({ id: 'g', route: 'm', data: { p: 'A', n } });
            b.server.groups.sendMes({ id: 'g', route: 'm', data: { p: 'B', n } });
          }
          if (n < TOTAL) setImmediate(pump);
          else resolve();
        };
        pump();
      });
      const want = Array.from({ length: TOTAL }, (_, i) => i + 1);
      await waitFor(() => peers.every((peer) => datas(peer).length >= 2 * TOTAL), 10_000, 'all');
      for (const peer of peers) {
        const got = datas(peer);
        assert.deepEqual(
          got.filter((d) => d.p === 'A').map((d) => d.n),
          want,
        );
        assert.deepEqual(
          got.filter((d) => d.p === 'B').map((d) => d.n),
          want,
        );
        assert.equal(got.length, 2 * TOTAL);
      }
    } finally {
      await stopClones(clones);
    }
  },
);
