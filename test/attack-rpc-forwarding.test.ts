/**
 * Attacks on RPC forwarding from a raw socket on B, which forwards to A (B's server proxy):
 * call deadlines out of range, and stream credit games through the relay.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import type { Server } from '../src/index.js';
import { MAX_STREAM_CREDIT } from '../src/protocol/checks.js';
import { FrameType } from '../src/protocol/frames.js';
import { forwardingPair } from './forwarding-pair.js';
import { Cleanup, connectRaw, isFrame, startServer, waitFor, type RawPeer } from './helpers.js';
import { responderSnapshot } from './rpc-helpers.js';

const NS = 'atk';
const probe = { calls: 0, produced: 0, finished: false };

function ping(): string {
  probe.calls++;
  return 'pong';
}

function* endless(): Generator<number> {
  probe.produced = 0;
  probe.finished = false;
  try {
    for (;;) yield ++probe.produced;
  } finally {
    probe.finished = true;
  }
}

function forwarding(server: Server): number {
  return server.serverLinks().reduce((total, link) => total + link.inFlight, 0);
}

function codeOf(frame: unknown): unknown {
  return ((frame as unknown[])[2] as { code?: unknown } | undefined)?.code;
}

describe('attacks on RPC forwarding', () => {
  const cleanup = new Cleanup();
  let a: Server;
  let b: Server;
  let peer: RawPeer;

  before(async () => {
    const pair = await forwardingPair(
      NS,
      (s) => {
        s.origin(ping, { namespace: NS });
        s.origin(endless, { namespace: NS });
      },
      cleanup,
    );
    ({ a, b, peer } = pair);
    await pair.linked(5000);
  });
  after(() => cleanup.run());

  test('RPC_CALL deadlines of 0, negative, NaN, infinite, past one day or not a number are refused before any call', async () => {
    const calls = probe.calls;
    const bad: unknown[] = [
      0,
      -1,
      -0.5,
      Number.NaN,
      Number.POSITIVE_INFINITY,
      86_400_001,
      1e300,
      '5',
    ];
    let id = 1;
    for (const timeout of bad) {
      peer.send([FrameType.RPC_CALL, id, NS, 'ping', [], null, timeout]);
      const answer = await peer.waitForFrame(
        (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
      );
      assert.ok(isFrame(answer, FrameType.ERROR), `timeout ${String(timeout)} refused`);
      assert.equal(codeOf(answer), 'ERR_BAD_FRAME', `timeout ${String(timeout)}`);
      id++;
    }
    assert.equal(probe.calls, calls, 'the function never ran');
    // The longest allowed deadline is forwarded and answered; nothing stays in flight.
    peer.send([FrameType.RPC_CALL, id, NS, 'ping', [], null, 86_400_000]);
    const answer = await peer.waitForFrame((f) => isFrame(f, FrameType.REPLY, id));
    assert.deepEqual(answer, [FrameType.REPLY, id, 'pong']);
    // A deadline of 1 ms: answered or timed out, either way nothing is left behind.
    peer.send([FrameType.RPC_CALL, id + 1, NS, 'ping', [], null, 1]);
    await peer.waitForFrame(
      (f) => isFrame(f, FrameType.REPLY, id + 1) || isFrame(f, FrameType.ERROR, id + 1),
    );
    await waitFor(() => forwarding(b) === 0, 5000, 'nothing forwarded left in flight');
  });

  test('credit past the cap through a relay fails the stream and stops the generator at A', async () => {
    const id = 500;
    peer.send([FrameType.RPC_STREAM, id, NS, 'endless', [], 1]);
    await peer.waitForFrame((f) => isFrame(f, FrameType.RPC_ITEMS, id));
    await waitFor(() => probe.produced >= 1, 5000, 'A produced');
    assert.equal(forwarding(b), 1, 'B relays the stream');
    // Credit in many grants that sum past the cap, then one huge grant.
    for (let i = 0; i < 4; i++) peer.send([FrameType.RPC_CREDIT, id, MAX_STREAM_CREDIT / 2]);
    peer.send([FrameType.RPC_CREDIT, id, Number.MAX_SAFE_INTEGER]);
    const failed = await peer.waitForFrame((f) => isFrame(f, FrameType.RPC_STREAM_ERROR, id), {
      timeoutMs: 5000,
    });
    assert.equal(codeOf(failed), 'ERR_LIMIT');
    await waitFor(() => probe.finished, 5000, "A's generator stopped");
    // A never ran past the cap for this reader.
    assert.ok(probe.produced <= MAX_STREAM_CREDIT + 1, `A produced ${probe.produced}`);
    await waitFor(
      () =>
        forwarding(b) === 0 &&
        responderSnapshot(a).producers === 0 &&
        responderSnapshot(b).producers === 0,
      5000,
      'nothing left open on A or B',
    );
    assert.ok(peer.open);
  });

  test('relayed streams and calls count against maxInFlight; credit for unknown or cancelled streams is ignored', async () => {
    const local = new Cleanup();
    try {
      const maxInFlight = 2;
      const { server: c } = await startServer({ id: 'C', maxInFlight });
      local.add(() => c.stop());
      await c.createServerProxy({ host: '127.0.0.1', port: a.port as number, namespace: NS });
      const raw = await connectRaw(`ws://127.0.0.1:${c.port as number}${c.path}`, {
        codec: 'msgpack',
      });
      local.add(() => raw.terminate());
      await waitFor(
        async () => {
          const id = 9000 + raw.frames.length;
          raw.send([FrameType.RPC_CALL, id, NS, 'ping', []]);
          const answer = await raw.waitForFrame(
            (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
          );
          return isFrame(answer, FrameType.REPLY);
        },
        5000,
        'C forwards to A',
      );
      for (let id = 1; id <= 5; id++) raw.send([FrameType.RPC_STREAM, id, NS, 'endless', [], 1]);
      await waitFor(
        () =>
          raw.frames.filter(
            (f) => isFrame(f, FrameType.RPC_STREAM_ERROR) && codeOf(f) === 'ERR_LIMIT',
          ).length === 3,
        5000,
        'streams past maxInFlight refused',
      );
      assert.equal(forwarding(c), maxInFlight, 'C relays only what the limit allows');
      // Credit for a stream never opened, and for one cancelled: nothing reaches A.
      raw.send([FrameType.RPC_STREAM_CANCEL, 1]);
      await waitFor(() => forwarding(c) === 1, 5000, 'cancelled stream forgotten');
      const produced = probe.produced;
      raw.send([FrameType.RPC_CREDIT, 1, 1000]);
      raw.send([FrameType.RPC_CREDIT, 77, 1000]);
      // A call after them on the same connection: answered once they were handled.
      raw.send([FrameType.RPC_CALL, 8000, NS, 'ping', []]);
      await raw.waitForFrame((f) => isFrame(f, FrameType.REPLY, 8000));
      assert.equal(forwarding(c), 1);
      assert.ok(probe.produced <= produced + 1, 'no credit reached a stream at A');
      assert.ok(raw.open);
    } finally {
      await local.run();
    }
  });
});
