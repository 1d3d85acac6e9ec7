import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { ErrorCode } from '../errors.js';
import { jsonCodec, type Codec, type WirePayload } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import { FrameType } from '../protocol/frames.js';
import { FanoutMessage } from './fanout-message.js';

/** A codec that counts its encodes and decodes. */
function counting(codec: Codec): Codec & { encodes: number; decodes: number } {
  const counted = {
    ...codec,
    encodes: 0,
    decodes: 0,
    encode(frame: readonly unknown[]): WirePayload {
      counted.encodes++;
      return codec.encode(frame);
    },
    decode(payload: WirePayload): unknown {
      counted.decodes++;
      return codec.decode(payload);
    },
  };
  return counted;
}

let msgpack: Codec;

describe('FanoutMessage', () => {
  before(async () => {
    msgpack = await loadCodec('msgpack');
  });

  test('a message from fields is encoded once per codec and framed once per codec', () => {
    const json = counting(jsonCodec);
    const binary = counting(msgpack);
    const message = FanoutMessage.fromFields('room', 'chat', null, { text: 'hi' });
    const expected = [FrameType.GROUP_MESSAGE, 'room', 'chat', null, { text: 'hi' }];
    assert.deepEqual(message.frame, expected);
    const text = message.encode(json);
    assert.equal(message.encode(json), text);
    assert.deepEqual(JSON.parse(text as string), expected);
    const bytes = message.encode(binary);
    assert.ok(bytes instanceof Uint8Array);
    assert.deepEqual(msgpack.decode(bytes), expected);
    assert.equal(message.encode(binary), bytes);
    // JSON is built from the pieces a pack reuses (PROTOCOL.md 2.9), to the same text.
    assert.equal(text, jsonCodec.encode(expected));
    assert.equal(json.encodes, 0);
    assert.equal(binary.encodes, 1);
    const framed = message.frameFor(json);
    assert.equal(message.frameFor(json), framed, 'one framing shared by every receiver');
    assert.equal(framed.payload, text);
    assert.notEqual(message.frameFor(binary), framed);
    assert.equal(message.frameFor(binary).payload, bytes);
    assert.equal(binary.encodes, 1);
  });

  test('a relayed message is not decoded when receivers use its codec', () => {
    const json = counting(jsonCodec);
    const payload = jsonCodec.encode([FrameType.GROUP_MESSAGE, ['a', 'b'], null, 'act', 1]);
    const message = FanoutMessage.fromEncoded(['a', 'b'], json, payload);
    assert.equal(message.encode(json), payload);
    assert.equal(message.frameFor(json).payload, payload);
    assert.equal(message.fits(json, 1000), true);
    assert.equal(json.decodes, 0);
    assert.equal(json.encodes, 0);
    assert.deepEqual(message.target, ['a', 'b']);
  });

  test('a relayed message is decoded once for another codec', () => {
    const json = counting(jsonCodec);
    const binary = counting(msgpack);
    const frame = [FrameType.GROUP_MESSAGE, null, 'r', null, [1, 2]];
    const payload = msgpack.encode(frame);
    const message = FanoutMessage.fromEncoded(null, binary, payload);
    assert.deepEqual(JSON.parse(message.encode(json) as string), frame);
    assert.deepEqual(message.frame, frame);
    message.encode(json);
    assert.equal(message.encode(binary), payload);
    assert.equal(binary.decodes, 1);
    assert.equal(binary.encodes, 0, 'the relayed bytes are kept for msgpack receivers');
  });

  test('a relayed payload that is not a valid GROUP_MESSAGE throws ProtocolError', () => {
    const other = FanoutMessage.fromEncoded('g', jsonCodec, jsonCodec.encode([FrameType.PING]));
    assert.throws(() => other.frame, { code: ErrorCode.BAD_FRAME });
    const invalid = FanoutMessage.fromEncoded(
      'g',
      jsonCodec,
      jsonCodec.encode([FrameType.GROUP_MESSAGE, 5, null, null, 1]),
    );
    assert.throws(() => invalid.encode(msgpack), { code: ErrorCode.BAD_FRAME });
  });

  test('fits compares encoded bytes, not UTF-16 units, with the overhead', () => {
    const message = FanoutMessage.fromFields('g', null, null, 'é'.repeat(100));
    const bytes = new TextEncoder().encode(message.encode(jsonCodec) as string).byteLength;
    const units = (message.encode(jsonCodec) as string).length;
    assert.ok(bytes > units);
    assert.equal(message.fits(jsonCodec, bytes), true);
    assert.equal(message.fits(jsonCodec, bytes - 1), false, 'fits in units, not in bytes');
    assert.equal(message.fits(jsonCodec, bytes + 10, 10), true);
    assert.equal(message.fits(jsonCodec, bytes + 10, 11), false);
    assert.equal(message.fits(jsonCodec, units - 1), false);
    assert.equal(message.fits(jsonCodec, Infinity), true);
    const binary = message.encode(msgpack) as Uint8Array;
    assert.equal(message.fits(msgpack, binary.byteLength), true);
    assert.equal(message.fits(msgpack, binary.byteLength - 1), false);
  });
});
