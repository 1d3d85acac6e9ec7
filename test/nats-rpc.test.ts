/**
 * RPC over the NATS backplane (a real three-server NATS cluster): functions of any node
 * callable from every node's proxies and from `server.rpc()`, function lists pushed, local
 * first, duplicates load-balanced, namespace groups failing over, streams with flow control and
 * cancellation, timeouts, remote errors and unknown functions.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  NoRouteError,
  RemoteError,
  RpcProxy,
  TimeoutError,
  type RpcCallContext,
  type Server,
} from '../src/index.js';
import { STREAM_WINDOW } from '../src/rpc/stream-consumer.js';
import { stopAll, waitFor } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';
const SECRET = 'nats-rpc-secret';

describe('NATS backplane: RPC', { skip }, () => {
  let nats: NatsCluster;
  let prefixes = 0;
  const cleanup: { stop(): Promise<void> }[] = [];
  const proxies: RpcProxy[] = [];

  before(async () => {
    nats = await startNatsCluster(3);
  });
  after(async () => {
    for (const proxy of proxies) await proxy.close().catch(() => undefined);
    await stopAll(...cleanup);
    await nats?.stop();
  });

  /** Nodes on the NATS servers in turn, in one fresh cluster (own prefix). */
  async function nodes(
    count: number,
    setup: ((server: Server, i: number) => void)[] = [],
  ): Promise<Server[]> {
    const prefix = `rpc${++prefixes}`;
    const servers: Server[] = [];
    for (let i = 0; i < count; i++) {
      const { server } = await startNatsServer(
        nats.urls[i % nats.urls.length] as string,
        { id: `N${i}`, serverSecret: SECRET },
        { prefix },
        (s) => setup[i]?.(s, i),
      );
      cleanup.push(server);
      servers.push(server);
    }
    await waitFor(
      () => servers.every((s) => s.clones.clones.size === count - 1),
      5000,
      'nodes see each other',
    );
    return servers;
  }

  async function proxy(server: Server, namespace?: string): Promise<RpcProxy> {
    const created = await RpcProxy.create({
      url: `ws://127.0.0.1:${String(server.port)}/`,
      serverSecret: SECRET,
      ...(namespace === undefined ? {} : { namespace }),
    });
    proxies.push(created);
    return created;
  }

  test('a function on one node is callable from another node, and errors carry their origin', async () => {
    const [a, b] = await nodes(2, [
      () => undefined,
      (s) => {
        s.origin(function add(x: number, y: number) {
          return x + y;
        });
        s.origin(async function fail() {
          await Promise.resolve();
          throw new TypeError('boom');
        });
      },
    ]);
    const p = await proxy(a as Server);
    await waitFor(
      () => p.functions.some((f) => f.name === 'add'),
      5000,
      'list pushed to the proxy',
    );
    assert.equal(await p.call('add', 2, 3), 5);
    const error = await p.call('fail').then(
      () => assert.fail('should reject'),
      (e: unknown) => e,
    );
    assert.ok(error instanceof RemoteError);
    assert.equal(error.remoteName, 'TypeError');
    assert.equal(error.origin, 'N1');
    await assert.rejects(p.call('nothing'), NoRouteError);
    // server.rpc() on A reaches B too.
    const local = await (a as Server).rpc();
    assert.equal(await local.call('add', 1, 1), 2);
    // Unregistered on B: gone from A's list.
    (b as Server).registry.unregister('DEFAULT', 'add');
    await waitFor(() => !p.functions.some((f) => f.name === 'add'), 5000, 'removal pushed');
  });

  test('duplicates on other nodes are load-balanced, each call runs once', async () => {
    const served: string[] = [];
    const share = (s: Server): void => {
      s.origin(function who() {
        served.push(s.id);
        return s.id;
      });
    };
    const [a] = await nodes(3, [() => undefined, share, share]);
    const p = await proxy(a as Server);
    await waitFor(() => p.functions.some((f) => f.name === 'who'));
    for (let i = 0; i < 40; i++) await p.call('who');
    assert.equal(served.length, 40, 'each call ran once');
    assert.ok(
      served.includes('N1') && served.includes('N2'),
      `both nodes served: ${served.join()}`,
    );
    assert.ok(!served.includes('N0'));
  });

  test('a local function wins over remote ones', async () => {
    const served: string[] = [];
    const share = (s: Server): void => {
      s.origin(function where() {
        served.push(s.id);
        return s.id;
      });
    };
    const [a] = await nodes(2, [share, share]);
    const p = await proxy(a as Server);
    for (let i = 0; i < 10; i++) assert.equal(await p.call('where'), 'N0');
    assert.deepEqual([...new Set(served)], ['N0']);
  });

  test('namespace groups resolve across nodes and fail over when a node leaves', async () => {
    const [a, b, c] = await nodes(3, [
      (s) => s.createNamespaceGroup('both', 'first', 'second'),
      (s) => {
        s.origin(() => 'from first on N1', { namespace: 'first', name: 'pick' });
      },
      (s) => {
        s.origin(() => 'from second on N2', { namespace: 'second', name: 'pick' });
      },
    ]);
    const p = await proxy(a as Server, 'both');
    await waitFor(() => p.functions.some((f) => f.name === 'pick'));
    assert.equal(await p.call('pick'), 'from first on N1');
    await (b as Server).stop();
    await waitFor(
      async () => (await p.call('pick').catch(() => undefined)) === 'from second on N2',
      5000,
      'failover',
    );
    assert.ok(c);
  });

  test('streams keep flow control across nodes and cancel the remote generator', async () => {
    let produced = 0;
    let finished = false;
    const [a, b] = await nodes(2, [
      () => undefined,
      (s) => {
        s.origin(function* numbers(limit: number) {
          try {
            for (let i = 0; i < limit; i++) {
              produced++;
              yield i;
            }
          } finally {
            finished = true;
          }
        });
        s.origin(function ping() {
          return 'pong';
        });
      },
    ]);
    const p = await proxy(a as Server);
    await waitFor(() => p.functions.some((f) => f.name === 'numbers'));
    // A whole stream, larger than the credit window.
    const all: number[] = [];
    for await (const n of p.stream('numbers', 3000)) all.push(n as number);
    assert.equal(all.length, 3000);
    assert.equal(all[2999], 2999);
    // A reader that stops: the producer stops at the credit it was given.
    produced = 0;
    finished = false;
    const iterator = p.stream('numbers', 1_000_000);
    assert.deepEqual(await iterator.next(), { done: false, value: 0 });
    await waitFor(() => produced >= 2 * STREAM_WINDOW, 5000, 'windows filled');
    // Round trips to B after the window filled: B had turns to run ahead if it could.
    for (let i = 0; i < 3; i++) assert.equal(await p.call('ping'), 'pong');
    // Credit is per hop (client to A, A to B): at most a window buffered at each.
    assert.ok(produced <= 2 * STREAM_WINDOW, `producer ran ahead: ${produced}`);
    await iterator.return?.();
    await waitFor(() => finished, 5000, 'remote generator stopped');
    assert.ok(b);
  });

  test('timeouts and unknown functions fail fast with clear errors', async () => {
    const [a] = await nodes(2, [
      () => undefined,
      (s) => {
        s.origin(function never() {
          return new Promise(() => undefined);
        });
      },
    ]);
    const p = await proxy(a as Server);
    await waitFor(() => p.functions.some((f) => f.name === 'never'));
    const started = Date.now();
    await assert.rejects(p.with({ timeout: 300 }).call('never'), TimeoutError);
    assert.ok(Date.now() - started < 3000);
  });

  test('a function run for another node sees its signal abort when the caller cancels or its deadline passes', async () => {
    /** Why each call's signal aborted, by the tag the caller gave it. */
    const aborted = new Map<string, unknown>();
    const started = new Set<string>();
    let streamAborted = false;
    const [a] = await nodes(2, [
      () => undefined,
      (s) => {
        s.origin(function hold(this: RpcCallContext, tag: string) {
          started.add(tag);
          return new Promise((resolve) => {
            this.signal.addEventListener('abort', () => {
              aborted.set(tag, this.signal.reason);
              // Past its deadline the call stays unanswered: a reply sent at once on the abort
              // could reach a caller whose own timer runs late and settle the call first.
              if (tag !== 'deadline') resolve(null);
            });
          });
        });
        s.origin(async function* ticks(this: RpcCallContext) {
          this.signal.addEventListener('abort', () => {
            streamAborted = true;
          });
          for (let i = 0; ; i++) {
            yield i;
            await new Promise((resolve) => setImmediate(resolve));
          }
        });
      },
    ]);
    const p = await proxy(a as Server);
    await waitFor(() =>
      ['hold', 'ticks'].every((name) => p.functions.some((f) => f.name === name)),
    );
    // The client aborts: A forwards the cancel over NATS to B, whose function is told.
    const controller = new AbortController();
    const cancelled = p.with({ signal: controller.signal, timeout: 30_000 }).call('hold', 'abort');
    await waitFor(() => started.has('abort'), 5000, 'the call reached B');
    controller.abort();
    await assert.rejects(cancelled, AbortError);
    await waitFor(() => aborted.has('abort'), 5000, 'the signal on B aborted');
    // The caller's timeout passes: B's signal aborts (its deadline travelled with the call, and
    // the caller cancels too; whichever comes first).
    await assert.rejects(p.with({ timeout: 300 }).call('hold', 'deadline'), TimeoutError);
    await waitFor(() => aborted.has('deadline'), 5000, 'the signal on B timed out');
    // A stream's generator is told when the consumer stops it.
    const iterator = p.stream('ticks');
    assert.deepEqual(await iterator.next(), { done: false, value: 0 });
    await iterator.return?.();
    await waitFor(() => streamAborted, 5000, 'the generator on B saw its signal abort');
  });
});
