/**
 * RPC clusters across separate processes (test/fixtures/rpc-node.ts): a chain of 4 processes
 * whose middle node is killed with SIGKILL while calls run through it, and rings of 3 and 4
 * processes that fail over when one node is killed. The figures (per-hop latency, time until
 * a dead node's functions are gone everywhere, time until a ring failed over) are printed,
 * not asserted tightly: the machine may be busy.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConnectionClosedError, RpcProxy, WsMeshError } from '../src/index.js';
import {
  callFn,
  elapsedMs,
  hasAll,
  hasNone,
  median,
  RpcNodeProcess,
  type RpcNodeConfig,
} from './cluster-helpers.js';
import { Cleanup, getFreePort, waitFor, within } from './helpers.js';

const SECRET = 'cluster-process-secret';

function log(message: string): void {
  console.log(`    [cluster-process] ${message}`);
}

/** Processes and proxies of one test; `stop()` closes the proxies and stops every process. */
class ProcessCluster {
  readonly nodes = new Map<string, RpcNodeProcess>();
  private readonly cleanup = new Cleanup();
  private readonly ports = new Map<string, number>();

  /** A free port for `id`, fixed before any process starts so links can be configured up front. */
  async reserve(ids: string[]): Promise<void> {
    for (const id of ids) this.ports.set(id, await getFreePort());
  }

  port(id: string): number {
    const port = this.ports.get(id);
    assert.ok(port !== undefined, `no port for ${id}`);
    return port;
  }

  /** Starts every configuration in parallel (links dial until their peers are up). */
  async start(configs: Omit<RpcNodeConfig, 'port' | 'secret'>[]): Promise<void> {
    const started = await Promise.allSettled(
      configs.map((config) =>
        RpcNodeProcess.start({ ...config, port: this.port(config.id), secret: SECRET }),
      ),
    );
    for (const result of started) {
      if (result.status === 'fulfilled') {
        const node = result.value;
        this.nodes.set(node.id, node);
        this.cleanup.add(() => node.stop());
      }
    }
    for (const result of started) if (result.status === 'rejected') throw result.reason;
  }

  /** Waits until each process has the expected number of live links (a parallel start dials with backoff). */
  async linked(expected: Record<string, number>, timeoutMs = 15_000): Promise<void> {
    await waitFor(
      async () => {
        const counts = await Promise.all(
          Object.keys(expected).map(async (id) => (await this.node(id).links()).length),
        );
        return Object.values(expected).every((count, index) => counts[index] === count);
      },
      timeoutMs,
      `links up: ${JSON.stringify(expected)}`,
      50,
    );
  }

  node(id: string): RpcNodeProcess {
    const node = this.nodes.get(id);
    assert.ok(node !== undefined, `no process ${id}`);
    return node;
  }

  /** A proxy to process `id` (no reconnect: a proxy to a killed node just stops). */
  async proxy(id: string, namespace: string): Promise<RpcProxy> {
    const proxy = await RpcProxy.create({
      host: '127.0.0.1',
      port: this.port(id),
      serverSecret: SECRET,
      namespace,
      reconnect: false,
      timeout: 20_000,
    });
    this.cleanup.add(() => proxy.close());
    return proxy;
  }

  stop(): Promise<void> {
    return this.cleanup.run();
  }
}

/** Waits until every proxy lists every name. */
async function allSee(
  proxies: RpcProxy[],
  names: string[],
  label: string,
  timeoutMs = 15_000,
): Promise<void> {
  await waitFor(
    () => proxies.every((proxy) => hasAll(proxy.functions, names)),
    timeoutMs,
    label,
    5,
  );
}

/** Median time of `rounds` sequential calls of `name` through `proxy`, in ms. */
async function medianCall(proxy: RpcProxy, name: string, rounds: number): Promise<number> {
  const call = callFn(proxy, name);
  for (let i = 0; i < 50; i++) await call(i);
  const times: number[] = [];
  for (let i = 0; i < rounds; i++) {
    const started = performance.now();
    await call(i);
    times.push(performance.now() - started);
  }
  return median(times);
}

describe('a chain of 4 processes A <- B <- C <- D', () => {
  test('SIGKILL of C while calls run through it: they fail fast, and its functions are gone everywhere', async () => {
    const cluster = new ProcessCluster();
    try {
      await cluster.reserve(['A', 'B', 'C', 'D']);
      const fn = (name: string, kind: 'id' | 'slow' = 'id') => ({ name, namespace: 'pub', kind });
      const linkTo = (id: string) => [{ port: cluster.port(id), namespace: 'pub' }];
      await cluster.start([
        { id: 'A', functions: [fn('a_func'), fn('slow_a', 'slow')] },
        { id: 'B', functions: [fn('b_func')], links: linkTo('A') },
        { id: 'C', functions: [fn('c_func')], links: linkTo('B') },
        { id: 'D', functions: [fn('d_func')], links: linkTo('C') },
      ]);
      await cluster.linked({ A: 1, B: 2, C: 2, D: 1 });
      const all = ['a_func', 'slow_a', 'b_func', 'c_func', 'd_func'];
      const [proxyA, proxyB, proxyD] = await Promise.all([
        cluster.proxy('A', 'pub'),
        cluster.proxy('B', 'pub'),
        cluster.proxy('D', 'pub'),
      ]);
      await allSee([proxyA, proxyB, proxyD], all, 'the chain is linked');
      assert.deepEqual(await proxyD.call('a_func', 'x'), { server: 'A', value: 'x' });
      assert.deepEqual(await proxyA.call('d_func', 'y'), { server: 'D', value: 'y' });

      // Latency added per forwarding hop: D's own function vs A's, three hops away.
      const local = await medianCall(proxyD, 'd_func', 400);
      const far = await medianCall(proxyD, 'a_func', 400);
      log(
        `sequential call from a proxy on D: d_func (on D) median ${local.toFixed(3)} ms, a_func (3 hops) ` +
          `median ${far.toFixed(3)} ms => about ${((far - local) / 3).toFixed(3)} ms per hop`,
      );

      // Five slow calls D -> C -> B -> A, running on A; then C dies.
      const a = cluster.node('A');
      const startedBefore = a.count('started');
      const calls = Array.from({ length: 5 }, () =>
        proxyD.call('slow_a', 15_000).then(
          () => undefined,
          (error: unknown) => ({ error, at: performance.now() }),
        ),
      );
      await waitFor(
        () => a.count('started') - startedBefore === 5,
        10_000,
        'five calls running on A',
        5,
      );
      const c = cluster.node('C');
      const killedAt = performance.now();
      c.kill('SIGKILL');
      const outcomes = await within(
        Promise.all(calls),
        10_000,
        'calls in flight through the killed node',
      );
      let slowest = 0;
      for (const outcome of outcomes) {
        assert.ok(outcome !== undefined, 'the call failed');
        assert.ok(
          outcome.error instanceof ConnectionClosedError,
          `ConnectionClosedError, got ${String(outcome.error)}`,
        );
        slowest = Math.max(slowest, outcome.at - killedAt);
      }
      await Promise.all([
        waitFor(() => hasNone(proxyA.functions, ['c_func', 'd_func']), 10_000, 'A lost C and D', 1),
        waitFor(() => hasNone(proxyB.functions, ['c_func', 'd_func']), 10_000, 'B lost C and D', 1),
        waitFor(
          () => hasNone(proxyD.functions, ['a_func', 'slow_a', 'b_func', 'c_func']),
          10_000,
          'D lost A, B and C',
          1,
        ),
      ]);
      const gone = elapsedMs(killedAt);
      log(
        `SIGKILL of the middle node: 5 calls in flight failed within ${slowest.toFixed(1)} ms; ` +
          `its functions (and those behind it) gone everywhere after ${gone} ms`,
      );
      assert.ok(slowest < 3000, `calls failed fast (${slowest} ms), long before their timeout`);
      assert.ok(gone < 5000, `functions gone within a few seconds (${gone} ms)`);
      // The survivors on each side still work together.
      assert.deepEqual(await proxyA.call('b_func', 1), { server: 'B', value: 1 });
      assert.deepEqual(await proxyB.call('a_func', 2), { server: 'A', value: 2 });
      assert.deepEqual(await proxyD.call('d_func', 3), { server: 'D', value: 3 });
      const error = await proxyD.call('a_func', 4).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      assert.ok(
        error instanceof WsMeshError && error.code === 'ERR_NO_ROUTE',
        `NoRouteError, got ${String(error)}`,
      );
    } finally {
      await cluster.stop();
    }
  });
});

describe('rings of processes fail over when a node is killed', () => {
  /** Starts a ring: `ids[i+1]` links to `ids[i]` in `left`, the first links to the last in `right`. */
  async function ring(cluster: ProcessCluster, ids: string[]): Promise<void> {
    await cluster.reserve(ids);
    await cluster.start(
      ids.map((id, index) => {
        const links =
          index === 0
            ? [{ port: cluster.port(ids[ids.length - 1] ?? id), namespace: 'right' }]
            : [{ port: cluster.port(ids[index - 1] ?? id), namespace: 'left' }];
        return {
          id,
          groups: [['ring', 'left', 'right']],
          functions: [{ name: `${id.toLowerCase()}_func`, namespace: 'ring' }],
          links,
        };
      }),
    );
    await cluster.linked(Object.fromEntries(ids.map((id) => [id, 2])));
  }

  /** Calls `name` until it succeeds; resolves with the time it took from `since`. */
  async function untilCallable(
    proxy: RpcProxy,
    name: string,
    since: number,
    timeoutMs = 10_000,
  ): Promise<number> {
    const call = callFn(proxy, name);
    let failures = 0;
    const errors = new Set<string>();
    await waitFor(
      () =>
        call('probe').then(
          () => true,
          (error: unknown) => {
            failures++;
            errors.add(error instanceof WsMeshError ? error.code : String(error));
            return false;
          },
        ),
      timeoutMs,
      `${name} callable again`,
      2,
    );
    if (failures > 0) {
      log(`(${failures} call(s) of ${name} failed during the failover: ${[...errors].join(', ')})`);
    }
    return elapsedMs(since);
  }

  test('a ring of 3 (A <- B <- C left, A -> C right): SIGKILL of B; A and C still call each other', async () => {
    const cluster = new ProcessCluster();
    try {
      await ring(cluster, ['RA', 'RB', 'RC']);
      const all = ['ra_func', 'rb_func', 'rc_func'];
      const [proxyA, proxyC] = await Promise.all([
        cluster.proxy('RA', 'ring'),
        cluster.proxy('RC', 'ring'),
      ]);
      await allSee([proxyA, proxyC], all, 'the ring is linked');
      for (const proxy of [proxyA, proxyC]) {
        for (const name of all) {
          const result = (await callFn(proxy, name)('x')) as { server: string };
          assert.equal(result.server, name.slice(0, 2).toUpperCase());
        }
      }
      const killedAt = performance.now();
      cluster.node('RB').kill('SIGKILL');
      const [aToC, cToA] = await Promise.all([
        untilCallable(proxyA, 'rc_func', killedAt),
        untilCallable(proxyC, 'ra_func', killedAt),
      ]);
      await waitFor(
        () => hasNone(proxyA.functions, ['rb_func']) && hasNone(proxyC.functions, ['rb_func']),
        10_000,
        'rb_func gone from A and C',
        1,
      );
      const gone = elapsedMs(killedAt);
      log(
        `ring of 3, SIGKILL of RB: RA -> rc_func OK after ${aToC} ms, RC -> ra_func OK after ${cToA} ms, ` +
          `rb_func gone from both after ${gone} ms`,
      );
      assert.ok(gone < 5000, `rb_func gone within a few seconds (${gone} ms)`);
      assert.deepEqual(await proxyA.call('rc_func', 1), { server: 'RC', value: 1 });
      assert.deepEqual(await proxyC.call('ra_func', 2), { server: 'RA', value: 2 });
      const links = await cluster.node('RA').links();
      assert.deepEqual(
        links.map((link) => `${link.peerId}/${link.namespace}`),
        ['RC/right'],
        'RA is left with its right link',
      );
    } finally {
      await cluster.stop();
    }
  });

  test('a ring of 4: SIGKILL of a node; the far side is reached the other way round', async () => {
    const cluster = new ProcessCluster();
    try {
      // left: Q1 <- Q2 <- Q3 <- Q4, right: Q1 -> Q4. Q1 reaches q3_func in 2 hops both ways.
      await ring(cluster, ['Q1', 'Q2', 'Q3', 'Q4']);
      const all = ['q1_func', 'q2_func', 'q3_func', 'q4_func'];
      const [proxy1, proxy3] = await Promise.all([
        cluster.proxy('Q1', 'ring'),
        cluster.proxy('Q3', 'ring'),
      ]);
      await allSee([proxy1, proxy3], all, 'the ring is linked');
      assert.deepEqual(await proxy1.call('q3_func', 0), { server: 'Q3', value: 0 });
      // Keep calls going from Q1 to Q3 (half of them through Q2) while Q2 dies.
      let running = true;
      let ok = 0;
      let failed = 0;
      const traffic = (async () => {
        while (running) {
          await Promise.all(
            Array.from({ length: 4 }, () =>
              proxy1.call('q3_func', 'traffic').then(
                () => {
                  ok++;
                },
                () => {
                  failed++;
                },
              ),
            ),
          );
        }
      })();
      await waitFor(() => ok > 50, 10_000, 'traffic flows', 5);
      const killedAt = performance.now();
      const okBefore = ok;
      cluster.node('Q2').kill('SIGKILL');
      await waitFor(
        () => hasNone(proxy1.functions, ['q2_func']) && hasNone(proxy3.functions, ['q2_func']),
        10_000,
        'q2_func gone from Q1 and Q3',
        1,
      );
      const gone = elapsedMs(killedAt);
      const failedOver = await untilCallable(proxy1, 'q3_func', killedAt);
      await waitFor(() => ok > okBefore + 50, 10_000, 'traffic flows again', 5);
      running = false;
      await traffic;
      log(
        `ring of 4, SIGKILL of Q2: q2_func gone from Q1 and Q3 after ${gone} ms; Q1 -> q3_func ` +
          `through Q4 OK after ${failedOver} ms; ${failed} call(s) in flight failed, ${ok} succeeded`,
      );
      assert.ok(gone < 5000, `q2_func gone within a few seconds (${gone} ms)`);
      assert.deepEqual(await proxy1.call('q3_func', 1), { server: 'Q3', value: 1 });
      assert.deepEqual(await proxy3.call('q1_func', 2), { server: 'Q1', value: 2 });
      const links = await cluster.node('Q1').links();
      assert.deepEqual(
        links.map((link) => link.peerId),
        ['Q4'],
        'Q1 reaches Q3 through Q4 only',
      );
    } finally {
      await cluster.stop();
    }
  });
});
