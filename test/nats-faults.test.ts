/**
 * Faults of the NATS backplane over a real three-server NATS cluster: one nats-server killed
 * (SIGKILL, by PID) while clients publish and call; NATS down at start; NATS urls of which
 * only some answer. Credentials are in nats-permissions.test.ts and nats-groups.test.ts.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Client,
  ConnectionClosedError,
  RpcProxy,
  type BackplaneState,
  type Server,
} from '../src/index.js';
import { STREAM_WINDOW } from '../src/rpc/stream-consumer.js';
import { getFreePort, LIBRARY_ENTRY, runScript, stopAll, waitFor } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  stopNode,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';
const SECRET = 'nats-faults-secret';

function backplaneOf(server: Server): BackplaneState {
  const state = server.stats().backplane;
  assert.ok(state !== null);
  return state;
}

/** A client subscribed to `group` that records the `seq` route's data. */
async function member(
  url: string,
  id: string,
  group: string,
): Promise<{ client: Client; got: number[]; probes: number }> {
  const client = new Client({ id, url, reconnect: false });
  const entry = { client, got: [] as number[], probes: 0 };
  client.addRoute({
    route: 'seq',
    handler: ({ mes }) => {
      entry.got.push(mes.data as number);
    },
  });
  client.addRoute({
    route: 'probe',
    handler: () => {
      entry.probes++;
    },
  });
  await client.start();
  await client.subscribe({ id: group });
  return entry;
}

describe('NATS backplane: a nats-server dies', { skip }, () => {
  let nats: NatsCluster;
  before(async () => {
    nats = await startNatsCluster(3);
  });
  after(async () => {
    await nats?.stop();
  });

  test('SIGKILL of the NATS server under a node while clients publish and call', async () => {
    const prefix = 'kill';
    const [dying, urlB, urlC] = [nats.nodes[0], nats.urls[1], nats.urls[2]];
    assert.ok(dying !== undefined && urlB !== undefined && urlC !== undefined);
    let slowRuns = 0;
    /** A's backplane status when `slow` answered. */
    let slowAnsweredWhile: string | undefined;
    let slowPoll: ReturnType<typeof setInterval> | undefined;
    let echoRuns = 0;
    let ticksStopped = false;
    // A knows only the url of the server that dies: it learns the others from NATS itself.
    const a = await startNatsServer(
      dying.url,
      { id: 'A', serverSecret: SECRET },
      { prefix },
      (s) => {
        s.origin(function slow() {
          slowRuns++;
          // Answers while A is cut off from NATS: the reply must wait for the reconnect.
          return new Promise((resolve) => {
            slowPoll = setInterval(() => {
              const status = a.server.stats().backplane?.status;
              if (status === 'connected') return;
              clearInterval(slowPoll);
              slowAnsweredWhile = status;
              resolve('slow done');
            }, 1);
          });
        });
        s.origin(function onA(n: number) {
          return n * 2;
        });
        s.origin(function* ticksOnA() {
          try {
            for (let i = 0; ; i++) yield i;
          } finally {
            ticksStopped = true;
          }
        });
      },
    );
    const b = await startNatsServer(urlB, { id: 'B', serverSecret: SECRET }, { prefix }, (s) => {
      s.origin(function echo(n: number) {
        echoRuns++;
        // Never answers the call that is in flight when NATS dies.
        return n === -1 ? new Promise(() => undefined) : n;
      });
      s.origin(function* ticksOnB() {
        for (let i = 0; ; i++) yield i;
      });
    });
    const c = await startNatsServer(urlC, { id: 'C' }, { prefix });
    const proxyA = await RpcProxy.create({ url: a.url, serverSecret: SECRET });
    const proxyB = await RpcProxy.create({ url: b.url, serverSecret: SECRET });
    const onA = await member(a.url, 'onA', 'g');
    const onB = await member(b.url, 'onB', 'g');
    const publisher = new Client({ id: 'pub', url: c.url, reconnect: false });
    await publisher.start();
    let publishing = true;
    let published = 0;
    const pump = (async () => {
      // Bounded: at most 20 000 messages, one per turn of the client's send queue.
      while (publishing && published < 20_000) {
        await publisher.sendMesToGroup({ id: 'g', route: 'seq', data: published++ });
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    try {
      await waitFor(
        () => a.server.clones.clones.size === 2 && b.server.clones.clones.size === 2,
        5000,
        'nodes see each other',
      );
      await waitFor(() => onA.got.length > 0 && onB.got.length > 0, 10_000, 'messages flow');
      await waitFor(() => proxyB.functions.some((f) => f.name === 'slow'), 5000, 'B sees slow');
      await waitFor(() => proxyA.functions.some((f) => f.name === 'echo'), 5000, 'A sees echo');
      assert.equal(await proxyA.call('echo', 1), 1);
      const dyingAddress = backplaneOf(a.server).server;
      assert.equal(dyingAddress, dying.url.replace('nats://', ''));

      // In flight when NATS dies: a call from A (whose NATS server dies) that B never answers,
      // and a call from B to A's function that is running on A.
      const fromA = proxyA.call('echo', -1).then(
        () => assert.fail('the call from A should fail'),
        (error: unknown) => error,
      );
      const fromB = proxyB.call('slow');
      await waitFor(() => slowRuns === 1 && echoRuns === 2, 5000, 'calls arrived');
      // Streams in flight both ways: A consumes one produced on B, B one produced on A.
      const streamToA = proxyA.stream('ticksOnB');
      const streamToB = proxyB.stream('ticksOnA');
      assert.deepEqual(await streamToA.next(), { done: false, value: 0 });
      assert.deepEqual(await streamToB.next(), { done: false, value: 0 });
      /** Reads until the stream fails; returns the error. */
      const drain = async (stream: AsyncIterator<unknown>): Promise<unknown> => {
        try {
          // What is buffered (a credit window per hop at most) comes first.
          for (let i = 0; i < 10 * STREAM_WINDOW; i++)
            if ((await stream.next()).done === true) break;
        } catch (error) {
          return error;
        }
        return assert.fail('the stream should fail');
      };

      const killedAt = Date.now();
      await stopNode(dying, 'SIGKILL');
      const streamToAFailed = drain(streamToA);
      const streamToBFailed = drain(streamToB);

      // The caller on the dead server fails at once, with a clear error (not at its timeout).
      const error = await fromA;
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.match((error as Error).message, /NATS/);
      assert.ok(Date.now() - killedAt < 3000, `failed after ${Date.now() - killedAt} ms`);
      // So does the stream A consumes.
      const streamError = await streamToAFailed;
      assert.ok(streamError instanceof ConnectionClosedError, String(streamError));

      // A reconnects to another NATS server of the cluster.
      await waitFor(
        () => {
          const state = backplaneOf(a.server);
          return state.status === 'connected' && state.server !== dyingAddress;
        },
        10_000,
        'A reconnected elsewhere',
      );
      // The reply of the call running on A, sent while A was disconnected, still reaches B.
      assert.equal(await fromB, 'slow done');
      assert.equal(slowAnsweredWhile, 'reconnecting');
      assert.equal(slowRuns, 1, 'the call ran once');
      // The stream A produced for B was stopped (its credit could be lost): B hears it after
      // the reconnect, and A's generator ran its finally.
      const producedError = await streamToBFailed;
      assert.ok(producedError instanceof ConnectionClosedError, String(producedError));
      assert.match((producedError as Error).message, /NATS/);
      assert.equal(ticksStopped, true);

      // A re-subscribed its group: messages published from now on reach its member.
      const seenOnA = onA.got.length;
      await waitFor(() => onA.got.length > seenOnA + 10, 10_000, 'messages reach A again');
      // A re-registered its functions, and calls across it work both ways.
      assert.equal(await proxyB.call('onA', 21), 42);
      assert.equal(await proxyA.call('echo', 7), 7);
      assert.equal(a.server.clones.clones.size, 2, 'A still sees B and C');
      assert.equal(b.server.clones.clones.size, 2, 'B still sees A and C');

      publishing = false;
      await pump;
      // A last message both members must get: what was published before has arrived.
      await waitFor(
        async () => {
          await publisher.sendMesToGroup({ id: 'g', route: 'probe', data: null });
          return onA.probes > 0 && onB.probes > 0;
        },
        10_000,
        'fence',
        50,
      );
      for (const [name, m] of [
        ['A', onA],
        ['B', onB],
      ] as const) {
        // At most once and in order: no duplicate, never back in the sequence.
        assert.equal(new Set(m.got).size, m.got.length, `${name}: no duplicates`);
        assert.ok(
          m.got.every((n, i) => i === 0 || n > (m.got[i - 1] as number)),
          `${name}: in publish order`,
        );
      }
      // B's NATS server stayed up: B lost nothing.
      const first = onB.got[0] as number;
      assert.deepEqual(
        onB.got,
        Array.from({ length: published - first }, (_, i) => first + i),
        'B got every message',
      );
    } finally {
      clearInterval(slowPoll);
      publishing = false;
      await pump.catch(() => undefined);
      await proxyA.close().catch(() => undefined);
      await proxyB.close().catch(() => undefined);
      await stopAll(onA.client, onB.client, publisher, a.server, b.server, c.server);
    }
  });
});

describe('NATS backplane: servers down at start', { skip }, () => {
  test('with one live url among dead ones, start() connects to the live one', async () => {
    const nats = await startNatsCluster(1);
    const dead = `nats://127.0.0.1:${await getFreePort()}`;
    try {
      const { server } = await startNatsServer([dead, nats.urls[0] as string], { id: 'X' });
      try {
        assert.equal(backplaneOf(server).status, 'connected');
        assert.equal(backplaneOf(server).server, nats.urls[0]?.replace('nats://', ''));
      } finally {
        await server.stop();
      }
    } finally {
      await nats.stop();
    }
  });
});

describe('NATS backplane: a node leaves with calls in flight', { skip }, () => {
  let nats: NatsCluster;
  before(async () => {
    nats = await startNatsCluster(1);
  });
  after(async () => {
    await nats?.stop();
  });

  test('a node that stops answers its running calls with ConnectionClosedError', async () => {
    const url = nats.urls[0] as string;
    const offer = (s: Server): void => {
      s.origin(function never() {
        return new Promise(() => undefined);
      });
    };
    const a = await startNatsServer(url, { id: 'A', serverSecret: SECRET }, { prefix: 'stop' });
    // Two nodes offer the function: the caller cannot tell which one runs the call.
    const b = await startNatsServer(url, { id: 'B' }, { prefix: 'stop' }, offer);
    const c = await startNatsServer(url, { id: 'C' }, { prefix: 'stop' }, offer);
    const proxy = await RpcProxy.create({ url: a.url, serverSecret: SECRET });
    try {
      await waitFor(() => a.server.clones.clones.size === 2, 5000, 'nodes');
      await waitFor(() => proxy.functions.some((f) => f.name === 'never'), 5000, 'table');
      const call = proxy.with({ timeout: 10_000 }).call('never');
      const callsIn = (s: Server): number => s.stats().backplane?.callsIn ?? 0;
      await waitFor(() => callsIn(b.server) + callsIn(c.server) === 1, 5000, 'running');
      const runner = callsIn(b.server) === 1 ? b.server : c.server;
      const stoppedAt = Date.now();
      await runner.stop();
      const error = await call.then(
        () => assert.fail('the call should fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.match(
        (error as Error).message,
        new RegExp(`Node ${runner.id} stopped during the call`),
      );
      assert.ok(Date.now() - stoppedAt < 3000, 'at once, not at the timeout');
    } finally {
      await proxy.close().catch(() => undefined);
      await stopAll(a.server, b.server, c.server);
    }
  });

  test('a node that dies: calls only it could answer fail at the heartbeat timeout', async () => {
    const url = nats.urls[0] as string;
    const prefix = 'crash';
    const a = await startNatsServer(url, { id: 'A', serverSecret: SECRET }, { prefix });
    const child = runScript(
      `import { Server } from ${JSON.stringify(LIBRARY_ENTRY)};
       import { natsBackplane } from ${JSON.stringify(LIBRARY_ENTRY.replace(/index\.ts$/, 'nats.ts'))};
       const server = new Server({ id: 'DOOMED', port: 0, host: '127.0.0.1', silent: true,
         backplane: natsBackplane({ servers: ${JSON.stringify(url)}, prefix: '${prefix}', heartbeatInterval: 200 }) });
       server.origin(function never() { return new Promise(() => undefined); });
       await server.start();
       setInterval(() => {}, 1000);`,
      { timeoutMs: 30_000 },
    );
    const proxy = await RpcProxy.create({ url: a.url, serverSecret: SECRET });
    try {
      await waitFor(() => proxy.functions.some((f) => f.name === 'never'), 15_000, 'table');
      const call = proxy.with({ timeout: 10_000 }).call('never');
      await waitFor(() => (a.server.stats().backplane?.callsOut ?? 0) === 1, 5000, 'sent');
      assert.ok(child.child.pid !== undefined);
      const killedAt = Date.now();
      process.kill(child.child.pid, 'SIGKILL');
      await child;
      const error = await call.then(
        () => assert.fail('the call should fail'),
        (e: unknown) => e,
      );
      assert.ok(error instanceof ConnectionClosedError, String(error));
      assert.match((error as Error).message, /DOOMED left the cluster/);
      // heartbeatTimeout is 3 x 200 ms here: far from the 10 s call timeout.
      assert.ok(Date.now() - killedAt < 5000, `failed after ${Date.now() - killedAt} ms`);
    } finally {
      if (child.child.exitCode === null && child.child.signalCode === null)
        child.child.kill('SIGKILL');
      await proxy.close().catch(() => undefined);
      await stopAll(a.server);
    }
  });
});
