/**
 * What a server does when it forwards a call or a stream to another (docs/clustering.md
 * "Forwarding"), over a chain A <- B <- C <- D of real servers on 127.0.0.1 with a proxy on D:
 * stream credit is end to end (a slow reader at D holds the generator at A, with at most one
 * window of items in between, whatever the number of hops), forwarded streams count in the
 * links' `inFlight`, a forwarding server reuses one target per route, and results and stream
 * items cross the hops in their MessagePack bytes, decoded only where they are used.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RpcProxy, type CallContext, type RpcCallContext, type Server } from '../src/index.js';
import type { Codec } from '../src/protocol/codec.js';
import { loadCodec } from '../src/protocol/codecs.js';
import { STREAM_WINDOW } from '../src/rpc/stream-consumer.js';
import { Cleanup, startServer, waitFor } from './helpers.js';
import { producersWaitingForCredit, responderSnapshot } from './rpc-helpers.js';

const NS = 'fwd';
const HOST = '127.0.0.1';

/** How far the generator on A got, and whether its finally block ran. */
const probe = { produced: 0, finished: false };

function* endless(): Generator<number> {
  probe.produced = 0;
  probe.finished = false;
  try {
    for (;;) {
      probe.produced++;
      yield probe.produced;
    }
  } finally {
    probe.finished = true;
  }
}

function echo(value: unknown): unknown {
  return value;
}

/** How long the caller still waits, as the server running the function was told (ms). */
function timeLeft(this: RpcCallContext): number | undefined {
  return (this as CallContext).remaining();
}

/** Text that marks the values whose decoding is counted. */
const MARKER = 'passthrough-marker';

function marked(n: number): { marker: string; n: number } {
  return { marker: MARKER, n };
}

function* markedItems(): Generator<{ marker: string; n: number }, string> {
  yield marked(1);
  yield marked(2);
  return MARKER;
}

type ForwardApi = {
  endless: typeof endless;
  echo: typeof echo;
  timeLeft: typeof timeLeft;
  marked: typeof marked;
  markedItems: typeof markedItems;
};

/**
 * Counts the MessagePack decodes (whole messages, batches, or values on their own) that
 * contain {@link MARKER}, over every server and proxy of this process (they share the codec).
 */
function countMarkedDecodes(codec: Codec): { count(): number; restore(): void } {
  const { decode, decodeEach } = codec;
  const marker = Buffer.from(MARKER);
  let count = 0;
  const seen = (payload: unknown): void => {
    if (payload instanceof Uint8Array && Buffer.from(payload).includes(marker)) count++;
  };
  const counting = codec as { decode: Codec['decode']; decodeEach: Codec['decodeEach'] };
  counting.decode = (payload) => {
    seen(payload);
    return decode(payload);
  };
  counting.decodeEach = (payload, each) => {
    seen(payload);
    decodeEach(payload, each);
  };
  return {
    count: () => count,
    restore: () => {
      counting.decode = decode;
      counting.decodeEach = decodeEach;
    },
  };
}

/** Calls and streams forwarded over the links of `server` and still running. */
function inFlight(server: Server): number {
  return server.serverLinks().reduce((total, link) => total + link.inFlight, 0);
}

function portOf(server: Server): number {
  const { port } = server;
  assert.ok(port !== undefined, 'server has a port');
  return port;
}

describe('RPC forwarding along a chain A <- B <- C <- D', () => {
  const cleanup = new Cleanup();
  const servers: Server[] = [];
  let proxy: RpcProxy<ForwardApi>;

  before(async () => {
    for (const id of ['A', 'B', 'C', 'D']) {
      const { server } = await startServer({ id }, (s) => {
        if (id === 'A') {
          s.origin(endless, { namespace: NS });
          s.origin(echo, { namespace: NS });
          s.origin(timeLeft, { namespace: NS });
          s.origin(marked, { namespace: NS });
          s.origin(markedItems, { namespace: NS });
        }
      });
      cleanup.add(() => server.stop());
      const previous = servers[servers.length - 1];
      if (previous !== undefined) {
        await server.createServerProxy({ host: HOST, port: portOf(previous), namespace: NS });
      }
      servers.push(server);
    }
    const d = servers[3] as Server;
    proxy = await RpcProxy.create<ForwardApi>({ host: HOST, port: portOf(d), namespace: NS });
    cleanup.add(() => proxy.close());
    await waitFor(
      () => proxy.functions.some((info) => info.name === 'endless'),
      5000,
      'A reachable from D',
    );
  });
  after(() => cleanup.run());

  test('a slow reader at D holds the generator at A within one window, across 3 hops', async () => {
    const [a, b, c] = servers as [Server, Server, Server, Server];
    let consumed = 0;
    let maxAhead = 0;
    for await (const value of proxy.endless()) {
      consumed++;
      assert.equal(value, consumed, 'in order');
      maxAhead = Math.max(maxAhead, probe.produced - consumed);
      if (consumed === 100) {
        // Nobody reads now: once the generator at A waits for credit, it has produced
        // exactly the first window granted at D (the hops in between hold none of their own).
        await waitFor(() => producersWaitingForCredit(a), 5000, 'A waits for credit');
        assert.equal(probe.produced, STREAM_WINDOW, 'items produced at A while D does not read');
        maxAhead = Math.max(maxAhead, probe.produced - consumed);
        // The stream counts in the load balancer's measure on every forwarding hop.
        assert.equal(inFlight(b), 1, 'B forwards one stream');
        assert.equal(inFlight(c), 1, 'C forwards one stream');
      }
      if (consumed % 200 === 0) {
        // A slow reader: let the producer run as far as credit allows.
        await new Promise((resolve) => setImmediate(resolve));
        await waitFor(() => producersWaitingForCredit(a), 5000, 'A waits for credit');
        maxAhead = Math.max(maxAhead, probe.produced - consumed);
      }
      if (consumed === 3000) break;
    }
    console.log(`# 3 hops: at most ${maxAhead} items produced at A ahead of D's reader`);
    assert.ok(maxAhead <= STREAM_WINDOW, `A ran ${maxAhead} items ahead of D`);
    await waitFor(() => probe.finished, 5000, "A's generator stopped after break");
    for (const server of servers) {
      await waitFor(
        () => responderSnapshot(server).producers === 0 && inFlight(server) === 0,
        5000,
        `${server.id}: nothing left open`,
      );
    }
  });

  test('a consumer whose connection closes mid-stream stops the generator three hops away', async () => {
    const d = servers[3] as Server;
    const other = await RpcProxy.create<ForwardApi>({ host: HOST, port: portOf(d), namespace: NS });
    const stream = other.endless();
    for (let index = 1; index <= 5; index++)
      assert.deepEqual(await stream.next(), { done: false, value: index });
    // The connection goes while the stream is open (no cancel is sent for it).
    await other.close();
    await waitFor(() => probe.finished, 5000, "A's generator stopped");
    for (const server of servers) {
      await waitFor(
        () => responderSnapshot(server).producers === 0 && inFlight(server) === 0,
        5000,
        `${server.id}: nothing left open`,
      );
    }
  });

  test('a forwarding server reuses one target per route', async () => {
    const c = servers[2] as Server;
    const links = c['linkManager'];
    const first = links.resolve(NS, 'echo');
    assert.ok(first !== undefined && first.remote, 'C reaches echo on A');
    assert.equal(links.resolve(NS, 'echo'), first, 'the same target for the next call');
    assert.equal(await proxy.echo(7), 7);
    // Another function appears in the namespace: C learns a new table, echo's route is kept.
    (servers[0] as Server).origin(function later() {}, { namespace: NS });
    await waitFor(
      () => proxy.functions.some((info) => info.name === 'later'),
      5000,
      'later reaches D',
    );
    assert.equal(links.resolve(NS, 'echo'), first, 'the target of an unchanged route is kept');
  });

  test('a forwarded call takes what is left of the timeout, less the time spent on each hop', async () => {
    const b = servers[1] as Server;
    const { resolver } = b;
    const resolve = resolver.resolve.bind(resolver);
    // B spends 150 ms before it forwards (its event loop is busy).
    resolver.resolve = (namespace, name) => {
      const until = performance.now() + 150;
      while (performance.now() < until);
      return resolve(namespace, name);
    };
    try {
      const left = await proxy.with({ timeout: 2000 }).timeLeft();
      assert.ok(left !== undefined, 'A knows the deadline');
      assert.ok(left <= 2000 - 150, `A was given ${left} ms of the caller's 2000`);
      assert.ok(left > 1000, `A was given ${left} ms`);
    } finally {
      resolver.resolve = resolve;
    }
  });

  test('results and stream items cross the hops undecoded: only their consumer decodes them', async () => {
    const d = servers[3] as Server;
    const codec = await loadCodec('msgpack');
    const binary = await RpcProxy.create<ForwardApi>({
      host: HOST,
      port: portOf(d),
      namespace: NS,
      codec: 'msgpack',
    });
    await waitFor(() => binary.functions.some((info) => info.name === 'marked'));
    const decodes = countMarkedDecodes(codec);
    try {
      // MessagePack from A to the proxy: B, C and D pass the bytes on; the proxy decodes.
      assert.deepEqual(await binary.marked(1), marked(1));
      assert.equal(decodes.count(), 1, 'a call result decoded once, by the proxy');
      const items: unknown[] = [];
      const stream = binary.markedItems();
      for (;;) {
        const step = await stream.next();
        if (step.done === true) {
          assert.equal(step.value, MARKER, 'the return value');
          break;
        }
        items.push(step.value);
      }
      assert.deepEqual(items, [marked(1), marked(2)]);
      // Items and end in one batch or two, read by the proxy alone.
      assert.ok(decodes.count() <= 3, `stream frames decoded ${decodes.count() - 1} times`);
      // A JSON proxy: D, where the codec changes, decodes the MessagePack value once.
      const before = decodes.count();
      assert.deepEqual(await proxy.marked(2), marked(2));
      assert.equal(decodes.count() - before, 1, 'decoded once, at D, to be sent as JSON');
      const again: unknown[] = [];
      for await (const item of proxy.markedItems()) again.push(item);
      assert.deepEqual(again, [marked(1), marked(2)]);
      assert.ok(decodes.count() - before <= 3, 'the stream decoded at D only');
    } finally {
      decodes.restore();
      await binary.close();
    }
  });
});
