import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonCodec } from '../protocol/codec.js';
import { PreparedFrame, payloadBound } from './prepared-frame.js';

// Each test file runs in its own process, so nothing here has `require`d 'ws' before: this
// checks that fan-out really frames once under ESM (ws's Sender is a named export there).
test('a prepared frame is framed once, as a ws server frame', () => {
  const text = PreparedFrame.of('hello');
  assert.ok(text.framed !== undefined, 'ws Sender.frame is reachable');
  const bytes = Buffer.concat(text.framed);
  assert.equal(text.framed.length, 1, 'small frames are one buffer');
  assert.equal(bytes[0], 0x81); // FIN + text opcode
  assert.equal(bytes[1], 5); // unmasked, length 5
  assert.equal(bytes.subarray(2).toString(), 'hello');
  assert.equal(text.framed, text.framed, 'framed once, then reused');
  const binary = PreparedFrame.of(new Uint8Array([1, 2, 3]));
  assert.equal(Buffer.concat(binary.framed ?? [])[0], 0x82); // FIN + binary opcode
});

test('a batch continued by the same frame is the same object, so sockets share its bytes', () => {
  const a = PreparedFrame.of('[8,"g","m",null,1]');
  const b = PreparedFrame.of('[8,"g","m",null,2]');
  const c = PreparedFrame.of('[8,"g","m",null,3]');
  const ab = a.followedBy(b, jsonCodec.join);
  assert.equal(a.followedBy(b, jsonCodec.join), ab);
  const abc = ab.followedBy(c, jsonCodec.join);
  assert.equal(ab.followedBy(c, jsonCodec.join), abc);
  assert.notEqual(a.followedBy(c, jsonCodec.join), abc);
  assert.equal(abc.payloads.length, 3);
  assert.equal(abc.payload, '[8,"g","m",null,1]\n[8,"g","m",null,2]\n[8,"g","m",null,3]');
  assert.ok(abc.bound >= Buffer.byteLength(abc.payload as string));
  const bytes = Buffer.concat(abc.framed ?? []);
  assert.equal(bytes[0], 0x81);
  assert.equal(bytes.subarray(2).toString(), abc.payload);
});

const groupMessage = (data: number, group = 'g'): PreparedFrame =>
  PreparedFrame.of(`[8,"${group}","m",null,${data}]`, {
    head: `[18,"${group}","m",null,[`,
    data: String(data),
  });

test('group messages in a row with one head become one GROUP_MESSAGES frame for pack readers', () => {
  const [a, b, c] = [groupMessage(1), groupMessage(2), groupMessage(3)];
  const packed = a.followedBy(b, jsonCodec.join, true).followedBy(c, jsonCodec.join, true);
  assert.equal(packed.payload, '[18,"g","m",null,[1,2,3]]');
  assert.equal(a.followedBy(b, jsonCodec.join, true), a.followedBy(b, jsonCodec.join, true));
  assert.ok(packed.bound >= Buffer.byteLength(packed.payload as string));
  // Sockets that do not read packs share their own batches, as lines.
  const lines = a.followedBy(b, jsonCodec.join).followedBy(c, jsonCodec.join);
  assert.equal(lines.payload, '[8,"g","m",null,1]\n[8,"g","m",null,2]\n[8,"g","m",null,3]');
  assert.equal(a.payload, '[8,"g","m",null,1]', 'a lone message keeps its own frame');
});

test('a pack ends where the head changes or a frame that does not pack comes between', () => {
  const other = groupMessage(9, 'h');
  const plain = PreparedFrame.of('[11,"g",true]');
  const join = jsonCodec.join;
  const batch = groupMessage(1)
    .followedBy(groupMessage(2), join, true)
    .followedBy(other, join, true)
    .followedBy(plain, join, true)
    .followedBy(groupMessage(3), join, true)
    .followedBy(groupMessage(4), join, true);
  assert.deepEqual(batch.payloads, [
    '[18,"g","m",null,[1,2]]',
    '[8,"h","m",null,9]',
    '[11,"g",true]',
    '[18,"g","m",null,[3,4]]',
  ]);
  assert.equal(batch.payload, (batch.payloads as string[]).join('\n'));
});

test('batches that part ways after a shared start each keep their own frames', () => {
  const join = jsonCodec.join;
  for (const packs of [false, true]) {
    const [a, b, c, d] = [1, 2, 3, 4].map((data) => groupMessage(data));
    const other = groupMessage(9, 'h');
    const plain = PreparedFrame.of('[11,"g",true]');
    if (a === undefined || b === undefined || c === undefined || d === undefined) return;
    const ab = a.followedBy(b, join, packs);
    const abc = ab.followedBy(c, join, packs);
    const abd = ab.followedBy(d, join, packs);
    const abOther = ab.followedBy(other, join, packs);
    const abPlain = ab.followedBy(plain, join, packs);
    const abcd = abc.followedBy(d, join, packs);
    const acd = a.followedBy(c, join, packs).followedBy(d, join, packs);
    const lines = (...datas: number[]): string =>
      datas.map((data) => `[8,"g","m",null,${data}]`).join('\n');
    const pack = (...datas: number[]): string =>
      packs ? `[18,"g","m",null,[${datas.join(',')}]]` : lines(...datas);
    assert.equal(abc.payload, pack(1, 2, 3));
    assert.equal(abd.payload, pack(1, 2, 4));
    assert.equal(abOther.payload, `${pack(1, 2)}\n[8,"h","m",null,9]`);
    assert.equal(abPlain.payload, `${pack(1, 2)}\n[11,"g",true]`);
    assert.equal(abcd.payload, pack(1, 2, 3, 4));
    assert.equal(acd.payload, pack(1, 3, 4));
    assert.equal(ab.payload, pack(1, 2));
    assert.equal(a.payload, '[8,"g","m",null,1]');
    assert.equal(ab.followedBy(c, join, packs), abc, 'each continuation is kept');
    assert.equal(ab.followedBy(d, join, packs), abd);
  }
});

test('payload bounds never undercount UTF-8 bytes', () => {
  for (const text of ['abc', 'é', '日本語', '😀', '']) {
    assert.ok(payloadBound(text) >= Buffer.byteLength(text), text);
  }
  assert.equal(payloadBound(new Uint8Array(7)), 7);
});

test('long strings are measured: a 30,000-unit ASCII string is bounded by 30,000 bytes', () => {
  assert.equal(payloadBound('x'.repeat(30_000)), 30_000);
  const mixed = 'é'.repeat(20_000);
  assert.equal(payloadBound(mixed), Buffer.byteLength(mixed));
  assert.equal(PreparedFrame.of('x'.repeat(30_000)).bound, 30_000);
});
