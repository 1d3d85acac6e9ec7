/**
 * Property-based tests (fast-check): random and mutated frames, in both codecs, never crash
 * the decoders or a server, never leave a request dangling, and never disturb other
 * connections. Each property prints how many cases it ran.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { ProtocolError } from '../src/errors.js';
import { jsonCodec, type WirePayload } from '../src/protocol/codec.js';
import { loadCodec } from '../src/protocol/codecs.js';
import { FrameType } from '../src/protocol/frames.js';
import { validateFrame } from '../src/protocol/validate.js';
import { Connection } from '../src/transport/connection.js';
import { deadlines } from '../src/transport/deadline-queue.js';
import type { SharedFrame, WireSocket } from '../src/transport/wire-socket.js';
import { connectRaw, startClient, startServer, stopAll, waitFor } from './helpers.js';

const RUNS = Number(process.env.FUZZ_RUNS ?? 2000);

/** Values shaped like frames: a known or unknown type number followed by anything. */
const frameLike = fc.oneof(
  fc.tuple(fc.integer({ min: -2, max: 45 }), fc.anything()).map(([type, rest]) => [type, rest]),
  fc.array(
    fc.oneof(fc.integer({ min: 0, max: 45 }), fc.string(), fc.constant(null), fc.anything()),
    { maxLength: 8 },
  ),
  fc.anything(),
);

/** Valid frames to mutate. */
const validFrames: unknown[][] = [
  [FrameType.MESSAGE, 1, 'echo', null, { a: 1 }],
  [FrameType.MESSAGE, 0, 'echo', 'x', [1, 2, 3]],
  [FrameType.SUBSCRIBE, 2, 'g'],
  [FrameType.UNSUBSCRIBE, 3, 'g'],
  [FrameType.PUBLISH, 4, ['g', 'h'], 'chat', null, 'hi', true],
  [FrameType.RPC_CALL, 5, 'DEFAULT', 'add', [1, 2]],
  [FrameType.RPC_STREAM, 6, 'DEFAULT', 'count', [3], 10],
  [FrameType.RPC_CREDIT, 6, 5],
  [FrameType.RPC_LIST, 7, 'DEFAULT'],
  [FrameType.PING],
  [FrameType.REPLY, 9, 'x'],
  [FrameType.ERROR, 0, { code: 'E', message: 'm' }],
  [FrameType.CLONE_SYNC, [], []],
];

const mutated = fc
  .tuple(fc.constantFrom(...validFrames), fc.nat({ max: 7 }), fc.anything())
  .map(([frame, index, value]) => {
    const copy = [...frame];
    copy[index % (copy.length + 1)] = value;
    return copy;
  });

class NullSocket implements WireSocket {
  sent = 0;
  bufferedAmount = 0;
  send(): void {
    this.sent++;
  }
  sendShared(_frame: SharedFrame): void {
    this.sent++;
  }
  close(): void {}
  terminate(): void {}
}

describe('fuzzing decoders', () => {
  test('validateFrame accepts or throws ProtocolError, nothing else', () => {
    let cases = 0;
    fc.assert(
      fc.property(fc.oneof(frameLike, mutated), (value) => {
        cases++;
        try {
          validateFrame(structuredClone(value));
        } catch (error) {
          assert.ok(error instanceof ProtocolError, `unexpected ${String(error)}`);
        }
      }),
      { numRuns: RUNS },
    );
    console.log(`    validateFrame: ${cases} cases`);
  });

  test('a connection fed random payloads in both codecs never throws and never leaks', async () => {
    const msgpack = await loadCodec('msgpack');
    // Replies and errors for the three requests in flight (ids 1 to 3), intact or mutated.
    const replies = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(FrameType.REPLY, FrameType.ERROR),
          fc.integer({ min: 0, max: 4 }),
          fc.oneof(fc.anything(), fc.constant({ code: 'E', message: 'm' })),
        )
        .map((frame) => [...frame]),
      fc
        .tuple(
          fc.constantFrom<unknown[]>(
            [FrameType.REPLY, 1, 'x'],
            [FrameType.ERROR, 2, { code: 'E', message: 'm' }],
          ),
          fc.nat({ max: 3 }),
          fc.anything(),
        )
        .map(([frame, index, value]) => {
          const copy = [...frame];
          copy[index] = value;
          return copy;
        }),
    );
    const baseline = deadlines.size;
    let cases = 0;
    for (const codec of [jsonCodec, msgpack]) {
      await fc.assert(
        fc.asyncProperty(
          fc.oneof(
            fc.uint8Array({ maxLength: 64 }),
            fc.string({ maxLength: 64 }),
            fc.oneof(frameLike, mutated, replies).map((value) => {
              try {
                return codec.encode([value].flat() as unknown[]) as WirePayload;
              } catch {
                return 'x';
              }
            }),
          ),
          async (payload) => {
            cases++;
            const connection = new Connection(
              new NullSocket(),
              { onFrame: () => undefined, onClose: () => undefined, onError: () => undefined },
              { codec, maxBufferedBytes: 1 << 20, requestTimeout: 60_000 },
            );
            const settled = new Set<number>();
            for (const id of [1, 2, 3]) {
              const settle = (): void => void settled.add(id);
              connection
                .request((requestId) => [FrameType.MESSAGE, requestId, 'r', null, null])
                .then(settle, settle);
            }
            assert.deepEqual([...connection.pending.keys()], [1, 2, 3]);
            connection.receive(payload instanceof Uint8Array ? payload : String(payload));
            await new Promise((resolve) => setImmediate(resolve));
            // Each request is either still waiting or settled, never both, never neither.
            for (const id of [1, 2, 3]) {
              assert.notEqual(connection.pending.has(id), settled.has(id), `request ${id}`);
            }
            connection.close();
            await new Promise((resolve) => setImmediate(resolve));
            assert.equal(connection.pending.size, 0, 'requests left after close');
            assert.equal(settled.size, 3, 'requests never settled');
            assert.equal(deadlines.size, baseline, 'deadlines left after close');
          },
        ),
        { numRuns: RUNS },
      );
    }
    console.log(`    Connection.receive: ${cases} cases`);
  });
});

describe('fuzzing a server over a real socket', () => {
  for (const codec of ['json', 'msgpack'] as const) {
    test(`${codec}: random and mutated frames never crash it or disturb a good client`, async () => {
      const { server, url } = await startServer({}, (s) => {
        s.addRoute({ route: 'echo', handler: ({ data }) => data });
        s.origin((a: number, b: number) => a + b, { name: 'add' });
        s.origin(
          function* count(n: number) {
            for (let i = 0; i < Math.min(Number(n) || 0, 5); i++) yield i;
          },
          { name: 'count' },
        );
      });
      const good = await startClient(url);
      let sent = 0;
      try {
        for (let round = 0; round < 10; round++) {
          const peer = await connectRaw(url, { codec });
          const values = fc.sample(fc.oneof(frameLike, mutated), Math.ceil(RUNS / 10));
          for (const value of values) {
            if (!peer.open) break;
            try {
              peer.send(value);
              sent++;
            } catch {
              // Not encodable by the raw peer's codec (e.g. symbols): skip.
            }
          }
          peer.terminate();
          assert.equal(await good.sendMes({ route: 'echo', data: round, awaitRes: true }), round);
        }
        await waitFor(() => server.clients.size === 1, 5000, 'hostile peers gone');
        assert.equal(
          await good.sendMes({ route: 'echo', data: 'still fine', awaitRes: true }),
          'still fine',
        );
      } finally {
        await stopAll(good, server);
      }
      console.log(`    server (${codec}): ${sent} hostile frames sent`);
    });
  }
});
