import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { loadCodec } from './codecs.js';
import {
  EncodedValue,
  decodedValue,
  encodeFrameAround,
  MAX_WALK_DEPTH,
  msgpackValueEnd,
  readEncodedFrame,
} from './encoded-value.js';

const codec = await loadCodec('msgpack');
const bytes = (value: unknown): Uint8Array => (codec.encode([value]) as Uint8Array).subarray(1);
const TYPES = new Set([3, 33, 34]);

/** Values of every MessagePack type and size class a frame may hold. */
const values: unknown[] = [
  0,
  127,
  -1,
  -33,
  300,
  70_000,
  2 ** 40,
  1.5,
  null,
  true,
  '',
  'x'.repeat(31),
  'y'.repeat(300),
  'z'.repeat(70_000),
  new Uint8Array(300),
  [],
  Array.from({ length: 20 }, (_, i) => i),
  { a: [1, { b: 'c' }], d: null },
  Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`k${i}`, i])),
];

describe('EncodedValue', () => {
  test('msgpackValueEnd finds the end of every kind of value, and -1 when cut short', () => {
    for (const value of values) {
      const encoded = bytes(value);
      const padded = new Uint8Array(encoded.length + 3);
      padded.set(encoded, 1);
      assert.equal(msgpackValueEnd(padded, 1), encoded.length + 1, JSON.stringify(value));
      if (encoded.length > 1)
        assert.equal(msgpackValueEnd(encoded.subarray(0, encoded.length - 1), 0), -1);
    }
    // An extension type (fixext 1) and the never-used byte are refused.
    assert.equal(msgpackValueEnd(new Uint8Array([0xd4, 1, 2]), 0), -1);
    assert.equal(msgpackValueEnd(new Uint8Array([0x91, 0xc1]), 0), -1);
  });

  test('a frame read up to its value and written around it again is the same frame', () => {
    for (const id of [1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 31 - 1]) {
      for (const value of values) {
        const frame = codec.encode([3, id, value]) as Uint8Array;
        const read = readEncodedFrame(frame, TYPES);
        assert.ok(read !== undefined, `read [3, ${id}, ...]`);
        assert.equal(read.type, 3);
        assert.equal(read.id, id);
        assert.deepEqual(new EncodedValue(codec, read.value).value, codec.decode(bytes(value)));
        for (const next of [5, 200, 40_000, 2 ** 31 - 2]) {
          // Byte for byte what the codec writes for the whole frame.
          const around = encodeFrameAround(33, next, read.value);
          assert.ok(Buffer.from(around).equals(codec.encode([33, next, value]) as Uint8Array));
        }
      }
    }
  });

  test('anything but a well-formed [type, id, value] of a taken type is left to the decoder', () => {
    const refused: unknown[][] = [
      [4, 1, 'error frames are not taken'],
      [3, 0, 'id 0'],
      [3, -1, 'negative id'],
      [3, 1.5, 'fractional id'],
      [3, 'id', 'string id'],
      [3, 1],
      [3, 1, 'four', 'elements'],
    ];
    for (const frame of refused) {
      const encoded = codec.encode(frame) as Uint8Array;
      assert.equal(readEncodedFrame(encoded, TYPES), undefined, JSON.stringify(frame));
    }
    const good = codec.encode([3, 9, { a: 'b' }]) as Uint8Array;
    // Trailing bytes, a truncated value, an extension inside the value.
    const trailing = new Uint8Array(good.length + 1);
    trailing.set(good);
    assert.equal(readEncodedFrame(trailing, TYPES), undefined);
    assert.equal(readEncodedFrame(good.subarray(0, good.length - 1), TYPES), undefined);
    assert.equal(readEncodedFrame(new Uint8Array([0x93, 3, 9, 0xd4, 1, 2]), TYPES), undefined);
    assert.equal(readEncodedFrame(new Uint8Array([]), TYPES), undefined);
  });

  test('nesting past MAX_WALK_DEPTH is left to the decoder, however it is written', () => {
    /** `depth` levels of one-element arrays (or maps) around 1, the last level written as `head`. */
    const nested = (depth: number, open: number[]): Uint8Array => {
      const out: number[] = [];
      for (let level = 0; level < depth; level++) out.push(...open);
      out.push(1);
      return new Uint8Array(out);
    };
    const forms = [[0x91], [0xdc, 0, 1], [0xdd, 0, 0, 0, 1], [0x81, 0xa0], [0xde, 0, 1, 0xa0]];
    for (const open of forms) {
      const ok = nested(MAX_WALK_DEPTH, open);
      assert.equal(msgpackValueEnd(ok, 0), ok.length, `depth ${MAX_WALK_DEPTH} of ${open[0]}`);
      // One level deeper, and far deeper (msgpackr overflows its stack past a few thousand).
      for (const depth of [MAX_WALK_DEPTH + 1, 100_000])
        assert.equal(msgpackValueEnd(nested(depth, open), 0), -1, `depth ${depth} of ${open[0]}`);
    }
    // Wide is not deep: many containers side by side pass.
    const wide = bytes(Array.from({ length: 5000 }, (_, i) => [{ i }]));
    assert.equal(msgpackValueEnd(wide, 0), wide.length);
    // As a frame's value.
    const frame = new Uint8Array([0x93, 3, 9, ...nested(MAX_WALK_DEPTH + 1, [0x91])]);
    assert.equal(readEncodedFrame(frame, TYPES), undefined);
    const shallower = new Uint8Array([0x93, 3, 9, ...nested(MAX_WALK_DEPTH, [0x91])]);
    assert.ok(readEncodedFrame(shallower, TYPES) !== undefined);
  });

  test('decodedValue decodes an encoded value once and passes others through', () => {
    let decodes = 0;
    const counting = {
      ...codec,
      decode: (payload: Uint8Array | string) => (decodes++, codec.decode(payload)),
    };
    const encoded = new EncodedValue(counting, bytes({ n: 1 }));
    assert.deepEqual(decodedValue(encoded), { n: 1 });
    assert.deepEqual(decodedValue(encoded), { n: 1 });
    assert.equal(decodes, 1);
    assert.equal(decodedValue(7), 7);
  });
});
