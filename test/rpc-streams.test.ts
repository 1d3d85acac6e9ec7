/**
 * RPC streams over real sockets (docs/rpc.md "Streams"): generators come back as async
 * iterables, complete and in order; credit-based flow control bounds how far a producer runs
 * ahead of a slow reader; `break`, `return()`, an aborted signal or a vanished caller stop the
 * producer (its `finally` runs) and nothing leaks; errors midway end the loop with RemoteError.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  AbortError,
  type Client,
  ConnectionClosedError,
  ErrorCode,
  FrameType,
  RemoteError,
  RpcProxy,
  SerializationError,
  type Server,
} from '../src/index.js';
import { STREAM_WINDOW } from '../src/rpc/stream-consumer.js';
import {
  connectRaw,
  delay,
  isFrame,
  startClient,
  startServer,
  stopAll,
  waitFor,
  within,
} from './helpers.js';
import {
  callerSnapshot,
  collect,
  producersWaitingForCredit,
  rejectsWith,
  responderSnapshot,
  since,
} from './rpc-helpers.js';

const NS = 'streams';

/** What a test can see of a running generator on the server. */
interface Probe {
  /** Items yielded so far. */
  produced: number;
  /** True once the generator's finally block ran. */
  finished: boolean;
}

const probes = new Map<string, Probe>();

function probe(tag: string): Probe {
  let entry = probes.get(tag);
  if (entry === undefined) {
    entry = { produced: 0, finished: false };
    probes.set(tag, entry);
  }
  return entry;
}

/** Never ends on its own: yields 1, 2, 3... and records how far it got. */
function* endless(tag: string): Generator<number> {
  const state = probe(tag);
  try {
    for (;;) {
      state.produced++;
      yield state.produced;
    }
  } finally {
    state.finished = true;
  }
}

/** Same, with an await between items. */
async function* endlessAsync(tag: string): AsyncGenerator<number> {
  const state = probe(tag);
  try {
    for (;;) {
      await delay(1);
      state.produced++;
      yield state.produced;
    }
  } finally {
    state.finished = true;
  }
}

function* numbers(count: number): Generator<number> {
  for (let index = 0; index < count; index++) yield index;
}

function* failing(before: number): Generator<number> {
  for (let index = 0; index < before; index++) yield index;
  throw new Error('midway');
}

async function* failingAsync(before: number): AsyncGenerator<string> {
  for (let index = 0; index < before; index++) {
    await delay(2);
    yield `item ${index}`;
  }
  const error = new RangeError('async midway') as RangeError & { code: string };
  error.code = 'E_MIDWAY';
  throw error;
}

async function* ticks(count: number, ms: number, tag: string): AsyncGenerator<{ tick: number }> {
  const state = probe(tag);
  try {
    for (let index = 0; index < count; index++) {
      await delay(ms);
      state.produced++;
      yield { tick: index };
    }
  } finally {
    state.finished = true;
  }
}

function* withReturn(): Generator<number, string> {
  yield 1;
  yield 2;
  return 'done';
}

function* badItem(): Generator<unknown> {
  yield 1;
  yield 10n;
}

type StreamApi = {
  endless: typeof endless;
  endlessAsync: typeof endlessAsync;
  numbers: typeof numbers;
  failing: typeof failing;
  failingAsync: typeof failingAsync;
  ticks: typeof ticks;
  withReturn: typeof withReturn;
  badItem: typeof badItem;
};

describe('RPC streams', () => {
  let server: Server;
  let url: string;
  let client: Client;
  let viaClient: RpcProxy<StreamApi>;
  let proxy: RpcProxy<StreamApi>;

  before(async () => {
    ({ server, url } = await startServer({}, (s) => {
      for (const fn of [
        endless,
        endlessAsync,
        numbers,
        failing,
        failingAsync,
        ticks,
        withReturn,
        badItem,
      ]) {
        s.origin(fn, { namespace: NS });
      }
    }));
    client = await startClient(url);
    viaClient = await client.rpc<StreamApi>(NS);
    proxy = await RpcProxy.create<StreamApi>({ url, namespace: NS });
  });
  after(async () => {
    await proxy.close().catch(() => undefined);
    await stopAll(client, server);
  });

  /** Nothing open on either side once streams are done. */
  async function assertNoLeaks(): Promise<void> {
    await waitFor(() => responderSnapshot(server).producers === 0, 5000, 'server producers closed');
    assert.equal(callerSnapshot(client).streams, 0, 'client consumers closed');
    assert.equal(callerSnapshot(client).pending, 0);
  }

  test('a generator comes back as an async iterable', async () => {
    const stream = viaClient.numbers(5);
    assert.equal(typeof stream[Symbol.asyncIterator], 'function');
    assert.equal(stream[Symbol.asyncIterator](), stream);
    assert.deepEqual(await collect(stream), [0, 1, 2, 3, 4]);
    assert.deepEqual(await collect(proxy.numbers(0)), [], 'an empty generator ends at once');
    assert.deepEqual(await collect(proxy.call('numbers', 3)), [0, 1, 2]);
    await assertNoLeaks();
  });

  test('100,000 items arrive complete and in order', async () => {
    const total = 100_000;
    const started = Date.now();
    let expected = 0;
    for await (const value of viaClient.numbers(total)) {
      if (value !== expected) assert.fail(`item ${expected} arrived as ${value}`);
      expected++;
    }
    const elapsed = since(started);
    assert.equal(expected, total);
    console.log(
      `# 100,000 items in ${elapsed} ms (${Math.round((total / Math.max(elapsed, 1)) * 1000)} items/s)`,
    );
    await assertNoLeaks();
  });

  test('the generator return value ends the iteration', async () => {
    const stream = viaClient.withReturn();
    assert.deepEqual(await stream.next(), { done: false, value: 1 });
    assert.deepEqual(await stream.next(), { done: false, value: 2 });
    assert.deepEqual(await stream.next(), { done: true, value: 'done' });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    await assertNoLeaks();
  });

  test('a slow reader bounds how far the producer runs ahead', async () => {
    const tag = 'flow';
    const state = probe(tag);
    let consumed = 0;
    let maxAhead = 0;
    const sample = (): void => {
      maxAhead = Math.max(maxAhead, state.produced - consumed);
    };
    for await (const value of viaClient.endless(tag)) {
      consumed++;
      assert.equal(value, consumed, 'in order');
      sample();
      if (consumed === 100) {
        // Stop reading for a while: the producer must stall, not run on.
        // Fewer than half a window was read, so no credit beyond the first window was granted:
        // once the producer is parked for credit it has produced exactly that window.
        await waitFor(
          () => producersWaitingForCredit(server),
          5000,
          'the producer waits for credit',
        );
        sample();
        assert.equal(
          state.produced,
          STREAM_WINDOW,
          'the producer waits for credit while nobody reads',
        );
      }
      if (consumed % 256 === 0) {
        await delay(5);
        sample();
      }
      if (consumed === 6000) break;
    }
    console.log(
      `# flow control: max items produced ahead of the reader = ${maxAhead} (window ${STREAM_WINDOW})`,
    );
    assert.ok(maxAhead <= 2 * STREAM_WINDOW, `the producer ran ${maxAhead} items ahead`);
    assert.ok(maxAhead > 0);
    await waitFor(() => state.finished, 3000, 'the producer stopped after break');
    await assertNoLeaks();
  });

  test('break in for await stops the producer (its finally runs)', async () => {
    for (const [tag, stream] of [
      ['break-sync', viaClient.endless('break-sync')],
      ['break-async', proxy.endlessAsync('break-async')],
    ] as const) {
      const state = probe(tag);
      const seen: number[] = [];
      for await (const value of stream) {
        seen.push(value);
        if (seen.length === 10) break;
      }
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      await waitFor(() => state.finished, 3000, `${tag}: finally ran`);
      const stoppedAt = state.produced;
      // A later stream on both connections: anything the stopped one still had in flight on
      // the server was handled before it.
      assert.deepEqual(await collect(viaClient.numbers(1)), [0]);
      assert.deepEqual(await collect(proxy.numbers(1)), [0]);
      assert.equal(state.produced, stoppedAt, `${tag}: nothing produced after the stop`);
    }
    await assertNoLeaks();
  });

  test('return() stops the producer, even before the first item was read', async () => {
    const state = probe('early-return');
    // stream() sends at once, so the generator is running when return() comes.
    const stream = viaClient.stream('endless', 'early-return');
    assert.deepEqual(await stream.return?.(undefined), { done: true, value: undefined });
    assert.deepEqual(await stream.next(), { done: true, value: undefined });
    await waitFor(() => state.finished, 3000, 'finally ran');
    await assertNoLeaks();
  });

  test('several streams share one connection without mixing', async () => {
    const results = await Promise.all([
      collect(viaClient.numbers(5000)),
      collect(viaClient.numbers(3000)),
      collect(viaClient.ticks(5, 2, 'parallel')),
      collect(viaClient.numbers(7000)),
    ]);
    assert.deepEqual(results[0], [...numbers(5000)]);
    assert.deepEqual(results[1], [...numbers(3000)]);
    assert.deepEqual(
      results[2],
      [0, 1, 2, 3, 4].map((tick) => ({ tick })),
    );
    assert.deepEqual(results[3], [...numbers(7000)]);
    await assertNoLeaks();
  });

  test('a generator that throws midway ends the loop with RemoteError after its items', async () => {
    const seen: number[] = [];
    const error = await rejectsWith(
      (async () => {
        for await (const value of viaClient.failing(5)) seen.push(value);
      })(),
      RemoteError,
      ErrorCode.REMOTE,
    );
    assert.deepEqual(seen, [0, 1, 2, 3, 4]);
    assert.equal(error.message, 'midway');
    assert.equal(error.remoteName, 'Error');
    assert.equal(error.origin, server.id);

    const strings: string[] = [];
    const asyncError = await rejectsWith(
      (async () => {
        for await (const value of proxy.failingAsync(3)) strings.push(value);
      })(),
      RemoteError,
      ErrorCode.REMOTE,
    );
    assert.deepEqual(strings, ['item 0', 'item 1', 'item 2']);
    assert.equal(asyncError.remoteName, 'RangeError');
    assert.equal(asyncError.remoteCode, 'E_MIDWAY');
    assert.equal(asyncError.message, 'async midway');
    // Failing right away, too.
    await rejectsWith(collect(viaClient.failing(0)), RemoteError, ErrorCode.REMOTE);
    await assertNoLeaks();
  });

  test('an item the codec cannot carry fails the stream instead of hanging', async () => {
    const error = await rejectsWith(
      collect(viaClient.badItem()),
      SerializationError,
      ErrorCode.SERIALIZE,
    );
    assert.match(error.message, /BigInt|serialize|encode/i);
    assert.deepEqual(await collect(viaClient.numbers(2)), [0, 1], 'the connection is fine');
    await assertNoLeaks();
  });

  test('an AbortSignal cancels a stream and stops the producer', async () => {
    const state = probe('abort');
    const controller = new AbortController();
    const seen: number[] = [];
    const error = await rejectsWith(
      (async () => {
        for await (const value of viaClient
          .with({ signal: controller.signal })
          .endlessAsync('abort')) {
          seen.push(value);
          if (seen.length === 5) controller.abort();
        }
      })(),
      AbortError,
      ErrorCode.ABORTED,
    );
    assert.equal(error.code, 'ERR_ABORTED');
    assert.ok(seen.length >= 5);
    await waitFor(() => state.finished, 3000, 'the aborted producer stopped');
    // An already aborted signal fails at once and starts nothing.
    const before = responderSnapshot(server).callsServed;
    await rejectsWith(
      collect(viaClient.with({ signal: AbortSignal.abort() }).numbers(3)),
      AbortError,
      ErrorCode.ABORTED,
    );
    // A timeout signal bounds a stream.
    const timed = probe('abort-timeout');
    await rejectsWith(
      collect(proxy.with({ signal: AbortSignal.timeout(100) }).endlessAsync('abort-timeout')),
      AbortError,
      ErrorCode.ABORTED,
    );
    await waitFor(() => timed.finished, 3000, 'the timed-out producer stopped');
    assert.equal(
      responderSnapshot(server).callsServed,
      before + 1,
      'only the timed stream reached the server',
    );
    await assertNoLeaks();
  });

  test('streams have no timeout of their own', async () => {
    const quick = await RpcProxy.create<StreamApi>({ url, namespace: NS, timeout: 100 });
    try {
      const items = await collect(quick.ticks(4, 80, 'no-timeout'));
      assert.equal(items.length, 4);
    } finally {
      await quick.close();
    }
  });

  test('an async generator with awaits delivers items as they come', async () => {
    const tag = 'incremental';
    const state = probe(tag);
    const started = Date.now();
    const stream = viaClient.ticks(5, 40, tag);
    const first = await stream.next();
    assert.deepEqual(first, { done: false, value: { tick: 0 } });
    assert.ok(!state.finished, 'the first item arrived before the generator finished');
    assert.ok(state.produced < 5);
    const rest = await collect(stream);
    assert.deepEqual(
      rest,
      [1, 2, 3, 4].map((tick) => ({ tick })),
    );
    assert.ok(since(started) >= 150, 'the awaits really ran');
    assert.ok(state.finished);
    await assertNoLeaks();
  });

  test('a caller that closes its proxy mid-stream stops the producer', async () => {
    const tag = 'proxy-close';
    const state = probe(tag);
    const own = await RpcProxy.create<StreamApi>({ url, namespace: NS });
    const peersBefore = responderSnapshot(server).peers;
    const stream = own.endlessAsync(tag);
    const firstItems = [await stream.next(), await stream.next()];
    assert.deepEqual(
      firstItems.map((item) => item.value),
      [1, 2],
    );
    assert.equal(responderSnapshot(server).producers, 1);
    await own.close();
    await waitFor(() => state.finished, 3000, 'the producer of a closed proxy stopped');
    await waitFor(() => responderSnapshot(server).producers === 0, 3000, 'producer released');
    await waitFor(() => responderSnapshot(server).peers < peersBefore, 3000, 'peer state released');
    // The consumer side ends instead of hanging.
    const next = await within(
      stream.next().then(
        () => 'settled',
        () => 'settled',
      ),
      3000,
      'next() on the stream of a closed proxy',
    );
    assert.equal(next, 'settled');
  });

  test('a caller whose socket drops mid-stream stops the producer', async () => {
    const tag = 'raw-terminate';
    const state = probe(tag);
    const raw = await connectRaw(url);
    raw.send([FrameType.RPC_STREAM, 1, NS, 'endless', [tag], 64]);
    await raw.waitForFrame((frame) => isFrame(frame, FrameType.RPC_ITEMS, 1));
    await waitFor(() => state.produced >= 64, 3000, 'the first credit was used');
    await waitFor(() => producersWaitingForCredit(server), 3000, 'the producer waits for credit');
    const stalled = state.produced;
    assert.equal(
      state.produced,
      stalled,
      'a raw consumer that grants no credit stalls the producer',
    );
    assert.equal(stalled, 64);
    raw.terminate();
    await waitFor(() => state.finished, 3000, 'the producer of a dropped socket stopped');
    await waitFor(() => responderSnapshot(server).producers === 0, 3000, 'producer released');
  });

  test('a client whose connection is closed by the server mid-stream gets ConnectionClosedError', async () => {
    const tag = 'server-closes';
    const state = probe(tag);
    const own = await startClient(url);
    try {
      const ownProxy = await own.rpc<StreamApi>(NS);
      const seen: number[] = [];
      const loop = (async () => {
        for await (const value of ownProxy.endlessAsync(tag)) {
          seen.push(value);
          if (seen.length === 3) {
            const ws = [...server.clients.values()].find((entry) => entry.clientId === own.id);
            ws?.close(4000, 'test closes it');
          }
        }
      })();
      await rejectsWith(loop, ConnectionClosedError, ErrorCode.CONNECTION_CLOSED);
      await waitFor(() => state.finished, 3000, 'producer stopped');
      assert.equal(callerSnapshot(own).streams, 0);
    } finally {
      await own.stop();
    }
  });

  test('server.rpc streams in-process, and break stops the generator', async () => {
    const local = await server.rpc<StreamApi>(NS);
    assert.deepEqual(await collect(local.numbers(4)), [0, 1, 2, 3]);
    const state = probe('local-break');
    for await (const value of local.endless('local-break')) {
      if (value === 3) break;
    }
    assert.equal(state.finished, true);
    await rejectsWith(collect(local.failing(1)), Error);
    await local.close();
  });
});
