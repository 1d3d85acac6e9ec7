import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidOptionError, SerializationError } from '../errors.js';
import { Subprotocol, jsonCodec, type Codec, type CodecName } from './codec.js';
import { codecForSubprotocol, isCodecName, loadCodec } from './codecs.js';
import { validateFrame } from './validate.js';

/** Frames covering every field kind a codec must carry unchanged. */
const sampleFrames: unknown[][] = [
  [0, { v: 1, id: 'client-1', kind: 'client', maxPayload: 1048576 }],
  [1, { v: 1, serverId: 's', connectionId: 'c', maxPayload: 10 }],
  [2, 0, null, null, null],
  [2, 42, 'route', 'act', { a: 1, b: [true, false, null], c: 'ünïcødé ✓ 😀', d: -1.5 }],
  [3, 2147483647, [1, 2, { nested: { deeper: ['x'] } }]],
  [4, 7, { code: 'ERR_REMOTE', message: 'boom', name: 'TypeError', data: { n: 0 } }],
  [5, 1, 'group'],
  [7, 3, ['a', 'b'], null, 'act', 'payload', true],
  [8, null, 'r', null, 12345678901],
  [9],
  [10],
  [2, 1, 'r', 'a', ''],
  [2, 1, 'r', 'a', { empty: {}, list: [] }],
];

function roundTrip(codec: Codec, frame: readonly unknown[]): unknown {
  return codec.decode(codec.encode(frame));
}

/** Asserts that `fn` throws a SerializationError with code ERR_SERIALIZE. */
function throwsSerialization(fn: () => unknown, label: string): void {
  assert.throws(
    fn,
    (error: unknown) =>
      error instanceof SerializationError && error.code === 'ERR_SERIALIZE' && error.message !== '',
    label,
  );
}

function assertNotPolluted(): void {
  const probe: Record<string, unknown> = {};
  assert.equal(probe.polluted, undefined, 'Object.prototype was polluted');
  assert.equal(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted'), false);
  assert.equal(typeof probe.constructor, 'function');
  assert.equal(probe.constructor, Object);
}

describe('codec registry', () => {
  test('msgpack is not resolvable by subprotocol before it is loaded', () => {
    // Runs first in this file's process: nothing has loaded msgpack yet.
    assert.equal(codecForSubprotocol(Subprotocol.msgpack), undefined);
  });

  test('isCodecName', () => {
    assert.equal(isCodecName('json'), true);
    assert.equal(isCodecName('msgpack'), true);
    for (const value of ['JSON', 'xml', '', null, undefined, 1])
      assert.equal(isCodecName(value), false);
  });

  test('loadCodec returns the json codec and loads msgpack once', async () => {
    assert.equal(await loadCodec('json'), jsonCodec);
    const [first, second] = await Promise.all([loadCodec('msgpack'), loadCodec('msgpack')]);
    assert.equal(first, second);
    assert.equal(first.name, 'msgpack');
    assert.equal(await loadCodec('msgpack'), first);
  });

  test('loadCodec rejects unknown names with InvalidOptionError', async () => {
    await assert.rejects(loadCodec('xml' as CodecName), InvalidOptionError);
  });

  test('subprotocol lookup', async () => {
    const msgpack = await loadCodec('msgpack');
    assert.equal(codecForSubprotocol('wsmesh.v1.json'), jsonCodec);
    assert.equal(codecForSubprotocol('wsmesh.v1.msgpack'), msgpack);
    for (const name of ['', 'wsmesh.v2.json', 'WSMESH.V1.JSON', 'json', 'wsmesh.v1.json ']) {
      assert.equal(codecForSubprotocol(name), undefined, name);
    }
  });

  test('codec properties', async () => {
    const msgpack = await loadCodec('msgpack');
    assert.deepEqual(
      { name: jsonCodec.name, subprotocol: jsonCodec.subprotocol, binary: jsonCodec.binary },
      { name: 'json', subprotocol: 'wsmesh.v1.json', binary: false },
    );
    assert.deepEqual(
      { name: msgpack.name, subprotocol: msgpack.subprotocol, binary: msgpack.binary },
      { name: 'msgpack', subprotocol: 'wsmesh.v1.msgpack', binary: true },
    );
  });
});

describe('json codec', () => {
  test('round-trips every sample frame as text', () => {
    for (const frame of sampleFrames) {
      const encoded = jsonCodec.encode(frame);
      assert.equal(typeof encoded, 'string');
      assert.deepEqual(jsonCodec.decode(encoded), frame);
      assert.doesNotThrow(() => validateFrame(jsonCodec.decode(encoded)));
    }
  });

  test('decodes UTF-8 bytes too, and refuses invalid UTF-8', () => {
    const bytes = new TextEncoder().encode('[2,1,"r","a","✓"]');
    assert.deepEqual(jsonCodec.decode(bytes), [2, 1, 'r', 'a', '✓']);
    assert.throws(() => jsonCodec.decode(new Uint8Array([0x5b, 0xff, 0xfe, 0x5d])));
  });

  test('refuses malformed text', () => {
    for (const text of ['', '{', '[1,', 'undefined', "['x']", '[1]]', '\u0000']) {
      assert.throws(() => jsonCodec.decode(text), text);
    }
  });

  test('undefined and functions follow JSON rules', () => {
    assert.deepEqual(roundTrip(jsonCodec, [3, 1, { a: undefined, b: 1 }]), [3, 1, { b: 1 }]);
    assert.deepEqual(roundTrip(jsonCodec, [3, 1, [undefined, () => 1]]), [3, 1, [null, null]]);
  });

  test('BigInt and circular values become SerializationError', () => {
    throwsSerialization(() => jsonCodec.encode([3, 1, 10n]), 'BigInt');
    throwsSerialization(() => jsonCodec.encode([3, 1, { nested: [1n] }]), 'nested BigInt');
    const circular: Record<string, unknown> = { a: 1 };
    circular.self = circular;
    throwsSerialization(() => jsonCodec.encode([3, 1, circular]), 'circular');
    const throwing = {
      toJSON(): never {
        throw new Error('toJSON failed');
      },
    };
    throwsSerialization(() => jsonCodec.encode([3, 1, throwing]), 'throwing toJSON');
  });

  test('a deeply nested value becomes SerializationError, not a crash', () => {
    let deep: unknown = 0;
    for (let level = 0; level < 100_000; level++) deep = { d: deep };
    throwsSerialization(() => jsonCodec.encode([3, 1, deep]), 'deep');
  });

  test('__proto__ and constructor keys do not pollute Object.prototype', () => {
    const text =
      '[2,1,"r","a",{"__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},' +
      '"nested":{"__proto__":{"polluted":3}}}]';
    const frame = validateFrame(jsonCodec.decode(text));
    const data = frame[4] as Record<string, unknown>;
    assertNotPolluted();
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.equal(data.polluted, undefined);
    assert.deepEqual(Object.keys(data), ['__proto__', 'constructor', 'nested']);
    // Merging the decoded data the usual ways must not pollute either.
    const merged = { ...data };
    Object.assign({}, data);
    assert.equal(Object.getPrototypeOf(merged), Object.prototype);
    assertNotPolluted();
  });
});

describe('msgpack codec', () => {
  test('round-trips every sample frame as bytes', async () => {
    const msgpack = await loadCodec('msgpack');
    for (const frame of sampleFrames) {
      const encoded = msgpack.encode(frame);
      assert.ok(encoded instanceof Uint8Array);
      assert.deepEqual(msgpack.decode(encoded), frame);
      assert.doesNotThrow(() => validateFrame(msgpack.decode(encoded)));
    }
  });

  test('carries binary data', async () => {
    const msgpack = await loadCodec('msgpack');
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    const decoded = msgpack.decode(msgpack.encode([3, 1, { bytes }])) as [
      number,
      number,
      { bytes: unknown },
    ];
    assert.ok(decoded[2].bytes instanceof Uint8Array);
    assert.deepEqual([...decoded[2].bytes], [...bytes]);
  });

  test('uses plain MessagePack (no msgpackr records): fixarray + fixmap', async () => {
    const msgpack = await loadCodec('msgpack');
    const encoded = msgpack.encode([3, 1, { a: 1 }]) as Uint8Array;
    assert.deepEqual([...encoded], [0x93, 0x03, 0x01, 0x81, 0xa1, 0x61, 0x01]);
  });

  test('refuses text payloads and malformed bytes', async () => {
    const msgpack = await loadCodec('msgpack');
    assert.throws(() => msgpack.decode('[2,1,null,null,null]'), TypeError);
    for (const junk of [
      [0x92, 0x01],
      [0x01, 0x02],
      [0xdd, 0xff, 0xff, 0xff, 0xff],
      [0xa5, 0x61],
    ]) {
      assert.throws(() => msgpack.decode(new Uint8Array(junk)), `bytes ${junk.join(',')}`);
    }
  });

  test('deep nesting in input throws instead of crashing, and the codec keeps working', async () => {
    const msgpack = await loadCodec('msgpack');
    const deep = new Uint8Array(100_001).fill(0x91);
    deep[100_000] = 0xc0;
    assert.throws(() => msgpack.decode(deep));
    assert.deepEqual(msgpack.decode(msgpack.encode([2, 1, 'r', null, 1])), [2, 1, 'r', null, 1]);
  });

  test('unencodable values become SerializationError', async () => {
    const msgpack = await loadCodec('msgpack');
    throwsSerialization(() => msgpack.encode([3, 1, 2n ** 70n]), 'BigInt beyond 64 bits');
    const circular: Record<string, unknown> = {};
    circular.self = circular;
    throwsSerialization(() => msgpack.encode([3, 1, circular]), 'circular');
    throwsSerialization(() => msgpack.encode([3, 1, Symbol('s')]), 'symbol');
  });

  test('__proto__ and constructor keys do not pollute Object.prototype', async () => {
    const msgpack = await loadCodec('msgpack');
    const enc = new TextEncoder();
    const str = (text: string): number[] => [0xa0 | text.length, ...enc.encode(text)];
    // [2, 1, "r", null, {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}]
    const bytes = new Uint8Array([
      0x95,
      0x02,
      0x01,
      ...str('r'),
      0xc0,
      0x82,
      ...str('__proto__'),
      0x81,
      ...str('polluted'),
      0xc3,
      ...str('constructor'),
      0x81,
      ...str('prototype'),
      0x81,
      ...str('polluted'),
      0xc3,
    ]);
    const frame = validateFrame(msgpack.decode(bytes));
    const data = frame[4] as Record<string, unknown>;
    assertNotPolluted();
    assert.equal(Object.getPrototypeOf(data), Object.prototype);
    assert.equal(data.polluted, undefined);
    Object.assign({}, data, { ...data });
    assertNotPolluted();
    // Encoding an object with an own "__proto__" key and decoding it back is harmless too.
    const own = JSON.parse('{"__proto__":{"polluted":1}}') as unknown;
    msgpack.decode(msgpack.encode([3, 1, own]));
    assertNotPolluted();
  });
});
