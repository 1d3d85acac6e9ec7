/**
 * Clone records of any size (PROTOCOL.md 2.8, "Record pages"): a clone whose subscribers hold
 * more group ids than one frame can carry still tells the mesh about every one of them, so
 * nobody's messages are cut off, and a clone joining later learns them all. And a clone frame
 * that cannot be sent is never dropped silently.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import type { Client } from '../src/client/client.js';
import type { Server } from '../src/server/server.js';
import {
  startClone,
  startInbox,
  startMesh,
  stopClones,
  stopInboxes,
  type Clone,
  type Inbox,
} from './clone-helpers.js';
import { Cleanup, startClient, waitFor } from './helpers.js';

/** How many groups `server` believes clone `id` has subscribers for. */
function groupsSeen(server: Server, id: string): number {
  return server.clones.topology().find((clone) => clone.id === id)?.groups.length ?? -1;
}

/** `count` distinct group ids of `length` characters. */
function groupIds(prefix: string, count: number, length: number): string[] {
  return Array.from({ length: count }, (_, index) => {
    const head = `${prefix}${index}-`;
    return head + 'g'.repeat(length - head.length);
  });
}

describe('clone records of any size', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  it('5,000 groups of 256 characters on one connection: the mesh still routes everything', async () => {
    const clones: Clone[] = await startMesh(['pg-a', 'pg-b']);
    cleanup.add(() => stopClones(clones));
    const [a, b] = clones as [Clone, Clone];
    const big = groupIds('big', 5000, 256);

    const hog: Inbox = await startInbox(b.url, []);
    cleanup.add(() => stopInboxes([hog]));
    await Promise.all(big.map((id) => hog.client.subscribe({ id })));
    const legit = await startInbox(b.url, ['news']);
    cleanup.add(() => stopInboxes([legit]));
    await waitFor(() => groupsSeen(a.server, b.id) === big.length + 1, 10_000, "A sees B's groups");

    const publisher: Client = await startClient(a.url);
    cleanup.add(() => publisher.stop());
    for (let n = 0; n < 5; n++) {
      await publisher.sendMesToGroup({ id: 'news', route: 'msg', data: n, awaitRes: true });
    }
    await waitFor(() => legit.of('msg').length === 5, 5000, 'the subscriber on B got 5 of 5');
    assert.deepEqual(
      legit.of('msg').map((message) => message.data),
      [0, 1, 2, 3, 4],
    );

    // A clone joining now learns every group of B, through A.
    const c = await startClone('pg-c');
    clones.push(c);
    c.server.addClone({ id: a.id, url: a.url });
    await waitFor(
      () => groupsSeen(c.server, b.id) === big.length + 1,
      10_000,
      "C learns B's groups",
    );
    const late = await startClient(c.url);
    cleanup.add(() => late.stop());
    const last = big[big.length - 1] as string;
    await late.sendMesToGroup({ id: last, route: 'msg', data: 'to the hog', awaitRes: true });
    await waitFor(
      () => hog.of('msg').some((message) => message.data === 'to the hog'),
      5000,
      'a message published on C reached the hog on B',
    );
    for (const clone of clones) assert.deepEqual(clone.errors, [], clone.id);
  });

  it('a frame too large for the receiving clone is an error and a metric, never silent', async () => {
    // B accepts small frames only; A publishes a message B's subscriber wants but cannot get.
    const clones = await startMesh(['fs-a', 'fs-b'], (id) =>
      id === 'fs-b' ? { maxPayload: 64 * 1024, metrics: true } : { metrics: true },
    );
    cleanup.add(() => stopClones(clones));
    const [a, b] = clones as [Clone, Clone];
    const inbox = await startInbox(b.url, ['room']);
    cleanup.add(() => stopInboxes([inbox]));
    await waitFor(() => groupsSeen(a.server, b.id) === 1, 5000, "A sees B's group");
    const publisher = await startClient(a.url);
    cleanup.add(() => publisher.stop());

    await publisher.sendMesToGroup({ id: 'room', route: 'msg', data: 'x'.repeat(100_000) });
    await waitFor(() => a.server.stats().clones.framesUnsent === 1, 5000, 'counted');
    const error = a.errors.find((e) => (e as { code?: string }).code === 'ERR_PAYLOAD_TOO_LARGE');
    assert.match(error?.message ?? 'no error reported', /fs-b/);
    const metrics = await (await fetch(`http://127.0.0.1:${a.port}/metrics`)).text();
    assert.match(metrics, /^wsmesh_clone_frames_unsent_total\{[^}]*\} 1$/m);
    // The link survived: a small message still arrives.
    await publisher.sendMesToGroup({ id: 'room', route: 'msg', data: 'small' });
    await waitFor(() => inbox.of('msg').some((message) => message.data === 'small'));
    assert.equal(inbox.of('msg').length, 1);
  });
});
