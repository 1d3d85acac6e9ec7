/**
 * Subscribe means subscribed, and acknowledged publishes, on the clone mesh: a publish on
 * clone A right after a subscribe on clone B resolved always reaches B's client (no probes,
 * no waiting), and `ack: 'cluster'` resolves with every node's deliveries.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Client } from '../src/client/client.js';
import type { TimeoutError } from '../src/errors.js';
import { linkedAll, startMesh, stopClones, type Clone } from './clone-helpers.js';
import { waitFor, within } from './helpers.js';

let clones: Clone[] = [];

before(async () => {
  clones = await startMesh(['sa', 'sb', 'sc'], { clusterAckTimeout: 1000 });
  await waitFor(() => linkedAll(clones), 10_000, 'mesh linked');
});

after(async () => {
  await stopClones(clones);
});

/**
 * Makes `server` handle every clone frame `delayMs` late, in order: a slow link, so news of a
 * subscription reaches it well after the subscriber's own reply could.
 */
function slowLinks(server: Clone['server'], delayMs: number): () => void {
  const manager = server.clones;
  const handle = manager.linkFrame;
  let last = Promise.resolve();
  manager.linkFrame = function slowed(link, frame) {
    last = last.then(
      () =>
        new Promise<void>((resolve) =>
          setTimeout(() => {
            handle.call(manager, link, frame);
            resolve();
          }, delayMs),
        ),
    );
  };
  return () => {
    manager.linkFrame = handle;
  };
}

function client(clone: Clone): Promise<Client> {
  const c = new Client({ url: clone.url, reconnect: false, silent: true });
  return c.start().then(() => c);
}

test('a publish on A right after a subscribe on B resolved arrives, 50 times in a row', async () => {
  const [a, b] = clones as [Clone, Clone];
  const publisher = await client(a);
  const received = new Set<string>();
  const subscribers: Client[] = [];
  // A hears clone B 20 ms late: without the acknowledgement, the publish would beat the news.
  const restore = slowLinks(a.server, 20);
  try {
    for (let round = 0; round < 50; round++) {
      const subscriber = await client(b);
      subscribers.push(subscriber);
      const group = `fresh-${round}`;
      subscriber.addRoute({ route: 'hit', handler: ({ data }) => void received.add(String(data)) });
      await subscriber.subscribe({ id: group });
      await publisher.sendMesToGroup({ id: group, route: 'hit', data: group, awaitRes: true });
    }
    // Every publish above went out after its subscribe resolved: each one must arrive.
    await waitFor(() => received.size === 50, 5000, 'all 50 arrived').catch(() => undefined);
    const missing = [...Array(50).keys()].map((n) => `fresh-${n}`).filter((g) => !received.has(g));
    assert.deepEqual(missing, []);
  } finally {
    restore();
    await Promise.all([publisher, ...subscribers].map((c) => c.stop()));
  }
});

test("ack: 'cluster' resolves with the deliveries of every node with subscribers", async () => {
  const [a, b, c] = clones as [Clone, Clone, Clone];
  const publisher = await client(a);
  const onB = await client(b);
  const onC = await client(c);
  const onC2 = await client(c);
  try {
    for (const member of [onB, onC, onC2]) await member.subscribe({ id: 'acked' });
    const result = (await publisher.sendMesToGroup({
      id: 'acked',
      data: 'x',
      awaitRes: true,
      ack: 'cluster',
    })) as { delivered: number; nodes: Record<string, number> };
    assert.deepEqual(result, { delivered: 3, nodes: { sa: 0, sb: 1, sc: 2 } });
  } finally {
    await Promise.all([publisher, onB, onC, onC2].map((x) => x.stop()));
  }
});

test("ack: 'cluster' rejects naming a node that does not answer", async () => {
  const [a, , c] = clones as [Clone, Clone, Clone];
  const publisher = await client(a);
  const onC = await client(c);
  try {
    await onC.subscribe({ id: 'silent' });
    // sc stops acknowledging (a node whose deliveries never come back).
    const manager = c.server.clones as unknown as {
      relay: { context: { delivered: (...args: unknown[]) => void } };
    };
    const original = manager.relay.context.delivered;
    manager.relay.context.delivered = () => undefined;
    try {
      const error = await within(
        publisher.sendMesToGroup({ id: 'silent', data: 1, awaitRes: true, ack: 'cluster' }).then(
          () => undefined,
          (e: unknown) => e,
        ),
        15_000,
        'acked publish',
      );
      assert.ok(error instanceof Error, 'rejected');
      assert.equal((error as TimeoutError).code, 'ERR_TIMEOUT');
      assert.match(error.message, /\bsc\b/);
      assert.deepEqual((error as TimeoutError).data, {
        missing: ['sc'],
        nodes: { sa: 0 },
      });
    } finally {
      manager.relay.context.delivered = original;
    }
  } finally {
    await Promise.all([publisher, onC].map((x) => x.stop()));
  }
});
