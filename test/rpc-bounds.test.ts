/**
 * RPC under abuse, over real sockets (docs/rpc.md "Limits", PROTOCOL.md 2.5): what one
 * connection can hold open is bounded (calls and streams count in `maxInFlight`, watched
 * namespaces are capped), a stream with huge credit does not stall other clients, stream
 * errors travel on the stream's own frame, and finished streams leave no abort listeners.
 */
import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, test } from 'node:test';
import { ErrorCode, FrameType, RpcProxy, type Server } from '../src/index.js';
import { MAX_STREAM_CREDIT } from '../src/protocol/validate.js';
import { MAX_WATCHED_NAMESPACES } from '../src/rpc/rpc-responder.js';
import { connectRaw, isFrame, startServer, stopAll, waitFor, type RawPeer } from './helpers.js';
import { collect, responderSnapshot } from './rpc-helpers.js';

const NS = 'bounds';

function* numbers(count: number): Generator<number> {
  for (let index = 0; index < count; index++) yield index;
}

function add(a: number, b: number): number {
  return a + b;
}

type BoundsApi = {
  numbers: typeof numbers;
  add: typeof add;
};

/** Namespaces watched by some connection (private state, read for leak checks only). */
function watchedNamespaces(server: Server): number {
  return server['responder']['watchers'].size;
}

/** Sends RPC_LIST for `namespace` and resolves with the REPLY or ERROR answering it. */
async function list(peer: RawPeer, namespace: string): Promise<unknown[]> {
  const id = peer.allocateId();
  peer.send([FrameType.RPC_LIST, id, namespace]);
  return (await peer.waitForFrame(
    (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
  )) as unknown[];
}

/** Sends RPC_CALL and resolves with the REPLY or ERROR answering it. */
function call(peer: RawPeer, name: string, args: unknown[] = []): Promise<unknown[]> {
  const id = peer.allocateId();
  peer.send([FrameType.RPC_CALL, id, NS, name, args]);
  return peer.waitForFrame(
    (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
    { timeoutMs: 10_000 },
  ) as Promise<unknown[]>;
}

/** Opens a stream with `credit` and resolves with its first answer (RPC_ITEMS or an error). */
function openStream(peer: RawPeer, id: number, name: string, args: unknown[], credit: number) {
  const after = peer.frames.length;
  peer.send([FrameType.RPC_STREAM, id, NS, name, args, credit]);
  return peer.waitForFrame(
    (f) =>
      isFrame(f, FrameType.RPC_ITEMS, id) ||
      isFrame(f, FrameType.RPC_STREAM_ERROR, id) ||
      isFrame(f, FrameType.RPC_END, id) ||
      isFrame(f, FrameType.ERROR),
    { after },
  ) as Promise<unknown[]>;
}

function codeOf(frame: unknown[]): unknown {
  return (frame[2] as { code?: unknown } | null)?.code;
}

function* endless(): Generator<number> {
  for (let index = 0; ; index++) yield index;
}

/** Items received on stream `id` so far. */
function itemsOf(peer: RawPeer, id: number): number {
  let total = 0;
  for (const frame of peer.frames) {
    if (isFrame(frame, FrameType.RPC_ITEMS, id)) total += (frame[2] as unknown[]).length;
  }
  return total;
}

describe('RPC bounds', () => {
  test('through a server link: an open stream counts in the link inFlight, and server.rpc carries its timeout', async () => {
    const secret = 'bounds-secret';
    const a = await startServer({ id: 'A', serverSecret: secret }, (s) => {
      s.origin(endless, { namespace: NS });
      s.origin(
        async function late(ms: number): Promise<string> {
          await new Promise((resolve) => setTimeout(resolve, ms));
          return 'late';
        },
        { namespace: NS },
      );
    });
    const b = await startServer({ id: 'B', serverSecret: secret, awaitResTimeout: 200 });
    let proxy: RpcProxy | undefined;
    try {
      await b.server.createServerProxy({ url: a.url, serverSecret: secret, namespace: NS });
      proxy = await RpcProxy.create({ url: b.url, serverSecret: secret, namespace: NS });
      const view = await b.server.rpc(NS);
      await waitFor(() => proxy?.functions.some((info) => info.name === 'endless'), 5000, 'routes');
      const linkInFlight = (): number =>
        b.server.serverLinks().reduce((total, link) => total + link.inFlight, 0);
      const stream = proxy.stream('endless');
      assert.deepEqual(await stream.next(), { done: false, value: 0 });
      assert.equal(linkInFlight(), 1, 'the open stream counts');
      await stream.return?.();
      await waitFor(() => linkInFlight() === 0, 5000, 'the ended stream no longer counts');
      // Longer than B's awaitResTimeout (the link's default wait): the caller's timeout rules.
      assert.equal(await view.with({ timeout: 5000 }).call('late', 400), 'late');
      assert.equal(linkInFlight(), 0);
      await view.close();
    } finally {
      await proxy?.close().catch(() => undefined);
      await stopAll(b.server, a.server);
    }
  });

  test('stream errors travel on the stream (RPC_STREAM_ERROR), never as ERROR in the request-id space', async () => {
    const releases: (() => void)[] = [];
    const { server, url } = await startServer({}, (s) => {
      s.origin(endless, { namespace: NS });
      s.addRoute({
        route: 'wait',
        handler: () => new Promise((resolve) => releases.push(() => resolve('reply 1'))),
      });
    });
    const peers: RawPeer[] = [];
    try {
      const peer = await connectRaw(url);
      peers.push(peer);
      // Request 1 is pending while stream 1 is refused: its answer must still be its reply.
      const request = peer.request('wait', null, null);
      request.catch(() => undefined);
      await waitFor(() => releases.length === 1, 5000, 'request 1 running');
      const malformed: [string, unknown[]][] = [
        ['args not an array', [FrameType.RPC_STREAM, 1, NS, 'endless', 'x', 10]],
        ['no credit', [FrameType.RPC_STREAM, 1, NS, 'endless', [], 0]],
        ['credit too large', [FrameType.RPC_STREAM, 1, NS, 'endless', [], MAX_STREAM_CREDIT + 1]],
        ['bad hops', [FrameType.RPC_STREAM, 1, NS, 'endless', [], 10, 65]],
        ['bad namespace', [FrameType.RPC_STREAM, 1, 5, 'endless', [], 10]],
      ];
      for (const [label, frame] of malformed) {
        const after = peer.frames.length;
        peer.send(frame);
        const answer = (await peer.waitForFrame(
          (f) => isFrame(f, FrameType.RPC_STREAM_ERROR, 1) || isFrame(f, FrameType.ERROR),
          { after },
        )) as unknown[];
        assert.equal(answer[0], FrameType.RPC_STREAM_ERROR, label);
        assert.equal(codeOf(answer), ErrorCode.BAD_FRAME, label);
      }
      // Without a readable stream id, the connection-level ERROR with id 0.
      const after = peer.frames.length;
      peer.send([FrameType.RPC_STREAM, 'one', NS, 'endless', [], 10]);
      const unaddressed = (await peer.waitForFrame((f) => isFrame(f, FrameType.ERROR), {
        after,
      })) as unknown[];
      assert.equal(unaddressed[1], 0);
      releases[0]?.();
      assert.deepEqual((await request).slice(0, 3), [FrameType.REPLY, 1, 'reply 1']);
      assert.equal(
        peer.frames.filter((f) => isFrame(f, FrameType.ERROR, 1)).length,
        0,
        'no ERROR for request 1',
      );

      // A stream id opened twice: both end, with one error on that stream.
      const first = await openStream(peer, 2, 'endless', [], 1);
      assert.ok(isFrame(first, FrameType.RPC_ITEMS, 2));
      const duplicate = await openStream(peer, 2, 'endless', [], 1);
      assert.ok(isFrame(duplicate, FrameType.RPC_STREAM_ERROR, 2));
      assert.equal(codeOf(duplicate), ErrorCode.BAD_FRAME);
      await waitFor(() => responderSnapshot(server).producers === 0, 5000, 'both stopped');
      assert.equal(peer.open, true);
    } finally {
      for (const peer of peers) peer.terminate();
      await stopAll(server);
    }
  });

  test('rate limit: a refused stream gets RPC_STREAM_ERROR; credit and cancels of admitted ones pass', async () => {
    const { server, url } = await startServer(
      { rateLimit: { messages: 3, interval: 60_000 } },
      (s) => {
        s.origin(endless, { namespace: NS });
      },
    );
    const peers: RawPeer[] = [];
    try {
      const peer = await connectRaw(url);
      peers.push(peer);
      for (let id = 1; id <= 3; id++) {
        assert.ok(isFrame(await openStream(peer, id, 'endless', [], 1), FrameType.RPC_ITEMS, id));
      }
      const refused = await openStream(peer, 4, 'endless', [], 1);
      assert.ok(isFrame(refused, FrameType.RPC_STREAM_ERROR, 4));
      assert.equal(codeOf(refused), ErrorCode.RATE_LIMIT);
      peer.send([FrameType.RPC_CREDIT, 1, 5]);
      await waitFor(() => itemsOf(peer, 1) === 6, 5000, 'credit past the rate limit');
      for (let id = 1; id <= 3; id++) peer.send([FrameType.RPC_STREAM_CANCEL, id]);
      await waitFor(() => responderSnapshot(server).producers === 0, 5000, 'cancels passed');
    } finally {
      for (const peer of peers) peer.terminate();
      await stopAll(server);
    }
  });

  test('a stream with the largest credit shares the event loop: calls are answered while it produces', async () => {
    let produced = 0;
    const { server, url } = await startServer({}, (s) => {
      s.origin(
        function* counted(): Generator<number> {
          for (;;) yield ++produced;
        },
        { namespace: NS },
      );
      s.origin(
        function progress(): number {
          return produced;
        },
        { namespace: NS },
      );
    });
    const peers: RawPeer[] = [];
    try {
      const greedy = await connectRaw(url);
      const good = await connectRaw(url);
      peers.push(greedy, good);
      greedy.send([FrameType.RPC_STREAM, 1, NS, 'counted', [], MAX_STREAM_CREDIT]);
      // Sequential calls from another client while the stream runs through its credit: each
      // answer tells how far the stream was when the call ran.
      const seen: number[] = [];
      for (let probe = 0; probe < 5000 && produced < MAX_STREAM_CREDIT; probe++) {
        const reply = await call(good, 'progress');
        seen.push(reply[2] as number);
      }
      const during = seen.filter((value) => value > 0 && value < MAX_STREAM_CREDIT);
      assert.ok(
        during.length >= 2,
        `calls answered while the stream produced: ${during.length} of ${seen.length} (${seen.slice(0, 5).join(', ')}...)`,
      );
      // The credit is still the bound: all of it arrives, then nothing more.
      await waitFor(() => itemsOf(greedy, 1) === MAX_STREAM_CREDIT, 10_000, 'credit delivered');
      const pong = greedy.frames.length;
      greedy.send([FrameType.PING]);
      await greedy.waitForFrame((f) => isFrame(f, FrameType.PONG), { after: pong });
      assert.equal(itemsOf(greedy, 1), MAX_STREAM_CREDIT);
      assert.equal(produced, MAX_STREAM_CREDIT);

      // A window above the maximum fails the stream on its own frame and stops the generator.
      greedy.send([FrameType.RPC_CREDIT, 1, MAX_STREAM_CREDIT]); // fine: all credit was used
      greedy.send([FrameType.RPC_CREDIT, 1, MAX_STREAM_CREDIT]); // above the maximum
      const failed = (await greedy.waitForFrame((f) =>
        isFrame(f, FrameType.RPC_STREAM_ERROR, 1),
      )) as unknown[];
      assert.equal(codeOf(failed), ErrorCode.LIMIT);
      await waitFor(() => responderSnapshot(server).producers === 0, 5000, 'producer stopped');
    } finally {
      for (const peer of peers) peer.terminate();
      await stopAll(server);
    }
  });

  test('maxInFlight counts slow calls and open streams with plain requests; past it ERR_LIMIT, and nothing else is lost', async () => {
    const releases: (() => void)[] = [];
    const { server, url } = await startServer({ maxInFlight: 10 }, (s) => {
      s.origin(
        function slow(): Promise<string> {
          return new Promise((resolve) => releases.push(() => resolve('late')));
        },
        { namespace: NS },
      );
      s.origin(endless, { namespace: NS });
      s.origin(add, { namespace: NS });
      s.addRoute({
        route: 'wait',
        handler: () => new Promise((resolve) => releases.push(() => resolve('ok'))),
      });
    });
    const peers: RawPeer[] = [];
    try {
      const peer = await connectRaw(url);
      const other = await connectRaw(url);
      peers.push(peer, other);
      const ws = [...server.clients.values()].find(
        (c) => c.id === (peer.welcome?.connectionId as string),
      );
      assert.ok(ws !== undefined);
      const slowCalls = Array.from({ length: 5 }, () => call(peer, 'slow'));
      const waiting = peer.request('wait', null, null, 10_000);
      // Settled below; a failing assertion in between must not surface as their rejection.
      for (const pending of [...slowCalls, waiting]) pending.catch(() => undefined);
      for (let id = 1; id <= 4; id++) {
        const first = await openStream(peer, id, 'endless', [], 1);
        assert.ok(isFrame(first, FrameType.RPC_ITEMS, id), 'a suspended stream (credit spent)');
      }
      await waitFor(() => ws.inFlight === 10, 5000, '5 calls + 1 request + 4 streams in flight');

      const refusedCall = await call(peer, 'add', [1, 2]);
      assert.ok(isFrame(refusedCall, FrameType.ERROR));
      assert.equal(codeOf(refusedCall), ErrorCode.LIMIT);
      const refusedStream = await openStream(peer, 5, 'endless', [], 1);
      assert.ok(isFrame(refusedStream, FrameType.RPC_STREAM_ERROR, 5), 'on the stream frame');
      assert.equal(codeOf(refusedStream), ErrorCode.LIMIT);
      const refusedMessage = await peer.request('wait', null, null);
      assert.equal(codeOf(refusedMessage), ErrorCode.LIMIT);
      // Another connection has its own budget.
      assert.deepEqual((await call(other, 'add', [1, 2])).slice(2), [3]);

      // A stream that ends gives its place back.
      peer.send([FrameType.RPC_STREAM_CANCEL, 1]);
      await waitFor(() => ws.inFlight === 9, 5000, 'cancelled stream released');
      const sum = await call(peer, 'add', [2, 3]);
      assert.deepEqual(sum.slice(2), [5]);
      const more = call(peer, 'slow');
      await waitFor(() => ws.inFlight === 10, 5000, 'a new slow call counted');

      // Nothing accepted was lost: every slow call and the request complete.
      for (const release of releases.splice(0)) release();
      for (const reply of await Promise.all([...slowCalls, more]))
        assert.deepEqual(reply.slice(2), ['late']);
      assert.deepEqual((await waiting).slice(2), ['ok']);
      for (let id = 2; id <= 4; id++) peer.send([FrameType.RPC_STREAM_CANCEL, id]);
      await waitFor(() => ws.inFlight === 0, 5000, 'budget back to 0');
      assert.equal(peer.open, true);
    } finally {
      for (const peer of peers) peer.terminate();
      await stopAll(server);
    }
  });

  test('RPC_LIST: watchers go with their connection, and one connection watches at most MAX_WATCHED_NAMESPACES', async () => {
    const { server, url } = await startServer({}, (s) => {
      s.origin(add, { namespace: NS });
    });
    const peers: RawPeer[] = [];
    try {
      for (let index = 0; index < 3; index++) peers.push(await connectRaw(url));
      const [first, second, third] = peers as [RawPeer, RawPeer, RawPeer];
      for (let index = 0; index < MAX_WATCHED_NAMESPACES; index++) {
        const answer = await list(first, `ns-${index}`);
        assert.ok(isFrame(answer, FrameType.REPLY), `namespace ${index} is listed`);
      }
      const refused = await list(first, 'one-too-many');
      assert.ok(isFrame(refused, FrameType.ERROR));
      assert.equal((refused[2] as { code: string }).code, ErrorCode.LIMIT);
      // Listing a namespace it already watches is not a new one; the connection stays usable.
      assert.ok(isFrame(await list(first, 'ns-0'), FrameType.REPLY));
      assert.ok(isFrame(await list(first, NS), FrameType.ERROR));
      assert.equal(first.open, true);
      for (let index = 0; index < 100; index++) await list(second, `other-${index}`);
      await list(third, NS);
      assert.equal(watchedNamespaces(server), MAX_WATCHED_NAMESPACES + 100 + 1);

      // Functions registered later reach the watcher that is still there.
      const pushed = third.waitForFrame((f) => isFrame(f, FrameType.RPC_FUNCTIONS));
      first.terminate();
      second.terminate();
      await waitFor(() => watchedNamespaces(server) === 1, 5000, 'closed watchers removed');
      server.origin(numbers, { namespace: NS });
      const functions = ((await pushed) as unknown[])[2] as { name: string }[];
      assert.deepEqual(functions.map((info) => info.name).sort(), ['add', 'numbers']);
      third.terminate();
      await waitFor(() => watchedNamespaces(server) === 0, 5000, 'last watcher removed');
    } finally {
      for (const peer of peers) peer.terminate();
      await stopAll(server);
    }
  });

  test('50 finished streams and calls on one AbortSignal leave no abort listener', async () => {
    const { server, url } = await startServer({}, (s) => {
      s.origin(numbers, { namespace: NS });
      s.origin(add, { namespace: NS });
    });
    const proxy = await RpcProxy.create<BoundsApi>({ url, namespace: NS });
    try {
      const controller = new AbortController();
      const { signal } = controller;
      const withSignal = proxy.with({ signal });
      for (let index = 0; index < 25; index++) {
        assert.deepEqual(await collect(withSignal.numbers(3)), [0, 1, 2]);
      }
      for (let index = 0; index < 25; index++) {
        // Left early: the consumer cancels the producer.
        for await (const value of withSignal.numbers(10)) if (value === 1) break;
      }
      assert.equal(getEventListeners(signal, 'abort').length, 0, 'streams removed theirs');
      for (let index = 0; index < 50; index++)
        assert.equal(await withSignal.add(index, 1), index + 1);
      assert.equal(getEventListeners(signal, 'abort').length, 0, 'calls removed theirs');
    } finally {
      await proxy.close().catch(() => undefined);
      await stopAll(server);
    }
  });
});
