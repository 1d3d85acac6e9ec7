import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCodec } from '../protocol/codecs.js';
import { FrameType, type GroupTarget } from '../protocol/frames.js';
import { utf8Length } from '../protocol/msgpack-writer.js';
import { validateFrame } from '../protocol/validate.js';
import { encodeRelayFrame } from './relay-frame.js';

type RelayArguments = [string, number, string[] | null, GroupTarget, Uint8Array, string | null];

function bytesOf(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let index = 0; index < length; index++) bytes[index] = (index * 31 + 7) & 0xff;
  return bytes;
}

const base: RelayArguments = ['origin-1', 5, null, 'g', bytesOf(20), null];

/** Every edge of one element at a time, the others as in `base`. */
const cases: RelayArguments[] = [];
const origins = [
  'o',
  'x'.repeat(31),
  'x'.repeat(32),
  'x'.repeat(255),
  'x'.repeat(256),
  'x'.repeat(65_535),
  'x'.repeat(65_536),
  // Two-, three- and four-byte characters, across the fixstr and str8 bounds in bytes.
  'é'.repeat(15),
  'é'.repeat(16),
  '€'.repeat(85),
  '€'.repeat(86),
  '😀'.repeat(64),
  'a😀b€cé',
];
for (const origin of origins) cases.push([origin, base[1], base[2], base[3], base[4], base[5]]);
const seqs = [0, 1, 127, 128, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 2 ** 53 - 1];
for (const seq of seqs) cases.push([base[0], seq, base[2], base[3], base[4], base[5]]);
const lists = (count: number, prefix: string): string[] =>
  Array.from({ length: count }, (_, index) => `${prefix}${index}`);
const destLists: (string[] | null)[] = [
  null,
  [],
  ['b'],
  lists(15, 'c'),
  lists(16, 'c'),
  lists(300, 'clone-'),
  ['y'.repeat(40), 'é'.repeat(200)],
];
for (const dests of destLists) cases.push([base[0], base[1], dests, base[3], base[4], base[5]]);
const targets: GroupTarget[] = [
  null,
  'g',
  'z'.repeat(31),
  'z'.repeat(32),
  'z'.repeat(300),
  [],
  ['g', 'h'],
  lists(16, 'group-'),
  lists(70_000, 'k'),
];
for (const target of targets) cases.push([base[0], base[1], base[2], target, base[4], base[5]]);
for (const length of [0, 1, 255, 256, 65_535, 65_536, 70_000]) {
  cases.push([base[0], base[1], base[2], base[3], bytesOf(length), base[5]]);
}
for (const ackTo of ['a', 'origin-2', 'q'.repeat(32), 'é'.repeat(200)]) {
  cases.push([base[0], base[1], base[2], base[3], base[4], ackTo]);
}
// All at once, with an acknowledgement.
cases.push(['n'.repeat(300), 2 ** 32 + 3, lists(20, 'd'), lists(20, 't'), bytesOf(65_537), 'hub']);

function validated(value: unknown): unknown {
  try {
    return validateFrame(value);
  } catch (error) {
    return error instanceof Error ? error.message : error;
  }
}

test('CLONE_RELAY written around the group message decodes as the codec encodes the frame', async () => {
  const codec = await loadCodec('msgpack');
  for (const [origin, seq, dests, target, bytes, ackTo] of cases) {
    const frame: unknown[] = [FrameType.CLONE_RELAY, origin, seq, dests, target, bytes];
    if (ackTo !== null) frame.push(ackTo);
    const expected = codec.decode(codec.encode(frame));
    // Decoded from a copy in a Buffer, as both arrive from a socket.
    const written = encodeRelayFrame(origin, seq, dests, target, bytes, ackTo);
    assert.ok(written !== undefined);
    const decoded = codec.decode(Buffer.from(written));
    const what = `origin ${origin.length} units, seq ${seq}, dests ${String(dests?.length)}, target ${String(Array.isArray(target) ? target.length : target?.length)}, ${bytes.byteLength} bytes, ackTo ${String(ackTo?.length)}`;
    assert.deepEqual(decoded, expected, what);
    // The receiving clone reads it as the same frame (or refuses both: names too long).
    assert.deepEqual(validated(decoded), validated(expected), what);
  }
});

test('CLONE_RELAY bytes, element by element (MessagePack spec)', () => {
  const written = encodeRelayFrame('ab', 300, ['c'], null, new Uint8Array([1, 2]), 'd');
  assert.ok(written !== undefined);
  const expected = [
    // fixarray of 7, fixint 24, fixstr "ab", uint16 300, fixarray of 1 with fixstr "c", nil,
    // bin8 of 2 bytes, fixstr "d"
    [0x97, 0x18],
    [0xa2, 0x61, 0x62],
    [0xcd, 0x01, 0x2c],
    [0x91, 0xa1, 0x63],
    [0xc0],
    [0xc4, 0x02, 0x01, 0x02],
    [0xa1, 0x64],
  ].flat();
  assert.deepEqual([...written], expected);
});

test('utf8Length counts as TextEncoder writes, lone surrogates as U+FFFD', () => {
  const encoder = new TextEncoder();
  const texts = [
    '',
    'abc',
    'é',
    '€',
    '😀',
    'a😀é€',
    '\ud800',
    'x\udc00y',
    '\ud83d',
    '\ud83d\ud83d',
  ];
  for (const text of texts) {
    assert.equal(utf8Length(text), encoder.encode(text).byteLength, JSON.stringify(text));
  }
});

test('no bytes for a frame with a lone surrogate in any name: the codec writes that one', () => {
  const bytes = new Uint8Array([1]);
  const lone = ['a\ud800', '\udc00b', 'x\ud83d'];
  for (const name of lone) {
    assert.equal(encodeRelayFrame(name, 1, null, 'g', bytes, null), undefined, 'origin');
    assert.equal(encodeRelayFrame('o', 1, ['a', name], 'g', bytes, null), undefined, 'dests');
    assert.equal(encodeRelayFrame('o', 1, null, name, bytes, null), undefined, 'target');
    assert.equal(encodeRelayFrame('o', 1, null, ['g', name], bytes, null), undefined, 'targets');
    assert.equal(encodeRelayFrame('o', 1, null, 'g', bytes, name), undefined, 'ackTo');
  }
  // Pairs are fine.
  assert.ok(
    encodeRelayFrame('o\ud83d\ude00', 1, ['\ud83d\ude00'], '😀', bytes, 'é😀') !== undefined,
  );
});
