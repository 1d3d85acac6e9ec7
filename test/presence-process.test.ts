/**
 * Presence and acknowledged publishes when a clone process dies (SIGKILL): its members leave
 * on the surviving clone within the heartbeat window, with `leave` events; an acknowledged
 * publish waiting for a frozen, then killed clone rejects naming it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Client } from '../src/client/client.js';
import { TimeoutError } from '../src/errors.js';
import { startClone, startCloneProcess, type Clone, type CloneProcess } from './clone-helpers.js';
import { getFreePort, waitFor, within } from './helpers.js';

const HEARTBEAT = 300;

async function pair(): Promise<[Clone, CloneProcess]> {
  const local = await startClone('live', {
    presence: { allGroups: true },
    heartbeatInterval: HEARTBEAT,
    clusterAckTimeout: 20_000,
  });
  const child = await startCloneProcess({
    id: 'doomed',
    port: await getFreePort(),
    peers: [{ id: 'live', url: local.url }],
    presence: true,
    heartbeatInterval: HEARTBEAT,
  });
  await waitFor(() => local.server.clones.linkedIds().includes('doomed'), 10_000, 'linked');
  return [local, child];
}

test('members of a killed clone leave within the heartbeat window; one fails over and is listed again', async () => {
  const [local, child] = await pair();
  const watcher = new Client({ id: 'watcher', url: local.url, reconnect: false, silent: true });
  // d1 fails over to the surviving clone; d2 has nowhere else to go.
  const doomed = [
    new Client({
      id: 'd1',
      url: [child.url, local.url],
      data: 'd1',
      reconnectTimeout: 50,
      silent: true,
    }),
    new Client({ id: 'd2', url: child.url, data: 'd2', reconnect: false, silent: true }),
  ];
  const events: string[] = [];
  watcher.on('join', ({ clientId, node }) => events.push(`join ${clientId}@${node}`));
  watcher.on('leave', ({ clientId, node }) => events.push(`leave ${clientId}@${node}`));
  try {
    await Promise.all([watcher, ...doomed].map((c) => c.start()));
    await watcher.subscribe({ id: 'room', presence: true });
    for (const c of doomed) await c.subscribe({ id: 'room', presence: true });
    const listed = async (): Promise<string> =>
      (await local.server.groups.presence({ id: 'room' }))
        .map((m) => `${m.clientId}@${m.node}`)
        .sort()
        .join();
    await waitFor(
      async () => (await listed()) === 'd1@doomed,d2@doomed,watcher@live',
      5000,
      'listed',
    );
    await child.kill('SIGKILL');
    const killed = Date.now();
    await waitFor(
      async () => (await listed()) === 'd1@live,watcher@live',
      3 * HEARTBEAT + 2000,
      'doomed members gone, d1 back on live',
    );
    assert.ok(Date.now() - killed <= 3 * HEARTBEAT + 2000);
    await waitFor(() => events.length === 5, 2000, 'events');
    // d1 and d2 joined while the watcher listened; both left with their clone; d1 came back.
    // d1 fails over as soon as its socket closes, so its join on live may come before the
    // leaves of the dead clone, which the mesh decides on its own schedule.
    assert.deepEqual(events.slice(0, 2).sort(), ['join d1@doomed', 'join d2@doomed']);
    assert.deepEqual(events.slice(2).sort(), [
      'join d1@live',
      'leave d1@doomed',
      'leave d2@doomed',
    ]);
  } finally {
    await Promise.all([watcher, ...doomed].map((c) => c.stop()));
    await child.kill().catch(() => undefined);
    await local.server.stop();
  }
});

test("ack: 'cluster' rejects naming a clone that was killed before it answered", async () => {
  const [local, child] = await pair();
  const publisher = new Client({ url: local.url, reconnect: false, silent: true });
  const remote = new Client({ url: child.url, reconnect: false, silent: true });
  try {
    await Promise.all([publisher.start(), remote.start()]);
    await remote.subscribe({ id: 'feed' });
    const ok = await publisher.sendMesToGroup({ id: 'feed', awaitRes: true, ack: 'cluster' });
    assert.deepEqual(ok, { delivered: 1, nodes: { live: 0, doomed: 1 } });
    // Frozen: the message reaches its socket but nobody answers; then the process dies.
    child.child.kill('SIGSTOP');
    const pending = publisher
      .sendMesToGroup({ id: 'feed', awaitRes: true, ack: 'cluster', timeout: 30_000 })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    await child.kill('SIGKILL');
    const error = await within(pending, 3 * HEARTBEAT + 5000, 'rejection');
    assert.ok(error instanceof TimeoutError, String(error));
    assert.match(error.message, /doomed/);
    assert.deepEqual(error.data, { missing: ['doomed'], nodes: { live: 0 } });
  } finally {
    await Promise.all([publisher, remote].map((c) => c.stop()));
    await child.kill().catch(() => undefined);
    await local.server.stop();
  }
});
