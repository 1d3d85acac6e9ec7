/**
 * MessagePack is plain (PROTOCOL.md section 1): extension types close the connection with 1007
 * like bad JSON, 64-bit integers arrive as numbers (the nearest double, as JSON.parse gives),
 * and what wsmesh sends never contains an extension type. Raw bytes from a raw socket, so the
 * test does not depend on how any encoder writes them.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import type { Server } from '../src/server/server.js';
import { Cleanup, connectRaw, isFrame, startClient, startServer, type RawPeer } from './helpers.js';

/** `[2, id, "echo", nil, <value>]` with `value` given as raw MessagePack bytes. */
function messageWith(id: number, value: number[]): Buffer {
  const route = Buffer.from('echo');
  return Buffer.from([0x95, 0x02, id, 0xa0 | route.length, ...route, 0xc0, ...value]);
}

/** Every extension family, with the types msgpackr gives a meaning to. */
const EXTENSIONS: [string, number[]][] = [
  ['timestamp 32 (ext -1, fixext 4)', [0xd6, 0xff, 0, 0, 0, 0]],
  ['timestamp 64 (ext -1, fixext 8)', [0xd7, 0xff, 0, 0, 0, 0, 0, 0, 0, 0]],
  ['timestamp 96 (ext -1, ext 8)', [0xc7, 12, 0xff, ...new Array<number>(12).fill(0)]],
  ['undefined (ext 0, fixext 1)', [0xd4, 0x00, 0x00]],
  ['bigint (ext 0x42)', [0xd4, 0x42, 0x07]],
  ['error (ext 0x65)', [0xd4, 0x65, 0x00, 0x93, 0xa5, ...Buffer.from('Error'), 0xa1, 0x78, 0xc0]],
  ['regexp (ext 0x78)', [0xd4, 0x78, 0x00, 0x92, 0xa1, 0x61, 0xa1, 0x67]],
  ['set (ext 0x73)', [0xd4, 0x73, 0x00, 0x91, 0x01]],
  ['typed array (ext 0x74)', [0xd6, 0x74, 0x01, 0x02, 0x03, 0x04]],
  ['record definition (ext 0x72)', [0xd4, 0x72, 0x40]],
  ['application type 5 (fixext 2)', [0xd5, 0x05, 0x01, 0x02]],
  ['fixext 16', [0xd8, 0x05, ...new Array<number>(16).fill(1)]],
  ['ext 16', [0xc8, 0x00, 0x01, 0x05, 0x01]],
  ['ext 32', [0xc9, 0x00, 0x00, 0x00, 0x01, 0x05, 0x01]],
  ['nested in a map', [0x81, 0xa1, 0x61, 0x91, 0xd6, 0xff, 0, 0, 0, 0]],
];

describe('MessagePack is plain', () => {
  const cleanup = new Cleanup();
  let server: Server;
  let url: string;
  const seen: unknown[] = [];

  before(async () => {
    ({ server, url } = await startServer({}, (s) => {
      s.addRoute({
        route: 'echo',
        handler: ({ data }) => {
          seen.push(data);
          return { type: typeof data, value: typeof data === 'bigint' ? String(data) : data };
        },
      });
      s.addRoute({ route: 'add', handler: ({ data }) => ((data as number[])[0] ?? 0) + 1 });
    }));
  });
  after(async () => {
    await cleanup.run();
    await server.stop();
  });

  async function raw(batch = false): Promise<RawPeer> {
    const peer = await connectRaw(url, {
      codec: 'msgpack',
      hello: batch ? { v: PROTOCOL_VERSION, id: `raw-batch-${Date.now()}`, batch: true } : true,
    });
    cleanup.add(() => peer.terminate());
    return peer;
  }

  for (const [name, bytes] of EXTENSIONS) {
    it(`closes with 1007 on ${name}`, async () => {
      const peer = await raw();
      const before = seen.length;
      peer.sendBinary(messageWith(1, bytes));
      const closed = await peer.waitClose();
      assert.equal(closed.code, 1007);
      assert.equal(seen.length, before, 'no handler ran');
      assert.ok(!peer.frames.some((frame) => isFrame(frame, FrameType.REPLY, 1)));
    });
  }

  it('handles the frames of a batch before the one with an extension, then closes with 1007', async () => {
    const peer = await raw(true);
    assert.equal(peer.welcome?.batch, true);
    peer.sendBinary(
      Buffer.concat([messageWith(1, [0x2a]), messageWith(2, [0xd6, 0xff, 0, 0, 0, 0])]),
    );
    const closed = await peer.waitClose();
    assert.equal(closed.code, 1007);
    const reply = peer.frames.find((frame) => isFrame(frame, FrameType.REPLY, 1));
    assert.deepEqual(reply, [FrameType.REPLY, 1, { type: 'number', value: 42 }]);
    assert.ok(!peer.frames.some((frame) => isFrame(frame, FrameType.REPLY, 2)));
  });

  it('decodes 64-bit integers as numbers, the nearest double like JSON', async () => {
    const peer = await raw();
    // uint64 (0xcf) and int64 (0xd3), as a Python or Go encoder writes them.
    const u64 = (value: bigint): number[] => {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0xcf;
      bytes.writeBigUInt64BE(value, 1);
      return [...bytes];
    };
    const i64 = (value: bigint): number[] => {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0xd3;
      bytes.writeBigInt64BE(value, 1);
      return [...bytes];
    };
    const cases: [number[], number][] = [
      [u64(2n ** 32n), 2 ** 32],
      [u64(1_700_000_000_123n), 1_700_000_000_123],
      [i64(-(2n ** 32n)), -(2 ** 32)],
      [i64(-1_700_000_000_123n), -1_700_000_000_123],
      [u64(2n ** 53n + 1n), JSON.parse('9007199254740993') as number],
      [u64(2n ** 64n - 1n), JSON.parse('18446744073709551615') as number],
      [i64(-(2n ** 63n)), JSON.parse('-9223372036854775808') as number],
    ];
    let id = 1;
    for (const [bytes, expected] of cases) {
      peer.sendBinary(messageWith(id, bytes));
      const reply = (await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, id))) as [
        number,
        number,
        { type: string; value: unknown },
      ];
      assert.deepEqual(reply[2], { type: 'number', value: expected }, `case ${id}`);
      id++;
    }
    // add(2**32, 1) works: the argument is a number, not a BigInt.
    const route = Buffer.from('add');
    peer.sendBinary(
      Buffer.from([0x95, 0x02, 99, 0xa3, ...route, 0xc0, 0x91, 0xcf, 0, 0, 0, 1, 0, 0, 0, 0]),
    );
    const sum = await peer.waitForFrame(
      (frame) => isFrame(frame, FrameType.REPLY, 99) || isFrame(frame, FrameType.ERROR, 99),
    );
    assert.deepEqual(sum, [FrameType.REPLY, 99, 2 ** 32 + 1]);
  });

  it('sends no extension type: a Date and undefined travel as JSON would carry them', async () => {
    server.addRoute({
      route: 'odd',
      handler: () => ({ when: new Date(0), gone: undefined, list: [undefined, 1] }),
    });
    const peer = await raw();
    peer.send([FrameType.MESSAGE, 7, 'odd', null, null]);
    const reply = await peer.waitForFrame((frame) => isFrame(frame, FrameType.REPLY, 7));
    assert.deepEqual(reply, [
      FrameType.REPLY,
      7,
      { when: '1970-01-01T00:00:00.000Z', list: [null, 1] },
    ]);
    // The same values through wsmesh's own client, over both codecs.
    for (const codec of ['json', 'msgpack'] as const) {
      const client = await startClient(url, { codec });
      cleanup.add(() => client.stop());
      const echoed = await client.sendMes({
        route: 'echo',
        data: { at: new Date(0), big: 2 ** 40, gone: undefined },
        awaitRes: true,
      });
      assert.deepEqual(
        echoed,
        { type: 'object', value: { at: '1970-01-01T00:00:00.000Z', big: 2 ** 40 } },
        codec,
      );
    }
  });
});
