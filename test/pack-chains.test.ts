/**
 * Fan-out batch chains (src/transport/prepared-frame.ts): sockets with and without
 * packs continue shared batches in random orders, as group fan-out does over several groups;
 * each batch must still read exactly its own frames (a model built from its own sequence),
 * whatever its siblings appended to the arrays they share, and its bound must cover its bytes.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonCodec } from '../src/protocol/codec.js';
import { PreparedFrame } from '../src/transport/prepared-frame.js';

interface Message {
  frame: PreparedFrame;
  lone: string;
  fields?: string;
  data?: string;
}

const FIELDS = [
  '"g","m",null',
  '"h","m",null',
  '"g","x",null',
  '["g","h"],"m","a"',
  '"é","m",null',
];
const DATAS = [
  '1',
  '"é"',
  '"日本語😀"',
  JSON.stringify('x'.repeat(1100)),
  JSON.stringify('é'.repeat(600)),
  '{"a":[1]}',
];

function random(seed: number): () => number {
  let state = seed;
  return () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state / 0x7fffffff;
  };
}

function message(index: number, next: () => number): Message {
  if (next() < 0.2) {
    const lone = `[11,"g${index}",true]`;
    return { frame: PreparedFrame.of(lone), lone };
  }
  const fields = FIELDS[Math.floor(next() * FIELDS.length)] ?? '';
  const data = DATAS[Math.floor(next() * DATAS.length)] ?? '';
  const lone = `[8,${fields},${data}]`;
  return { frame: PreparedFrame.of(lone, { head: `[18,${fields},[`, data }), lone, fields, data };
}

/** The frames a socket must send for `sequence`: runs of one head packed when `packs`. */
function expected(sequence: readonly Message[], packs: boolean): string[] {
  const out: string[] = [];
  for (let at = 0; at < sequence.length;) {
    const first = sequence[at] as Message;
    let end = at + 1;
    while (packs && first.fields !== undefined && sequence[end]?.fields === first.fields) end++;
    const run = sequence.slice(at, end);
    out.push(
      run.length === 1 ? first.lone : `[18,${first.fields},[${run.map((m) => m.data).join(',')}]]`,
    );
    at = end;
  }
  return out;
}

test('batches that share arrays each read their own frames, packed or not', () => {
  for (let seed = 1; seed <= 40; seed++) {
    const next = random(seed);
    const pool = Array.from({ length: 12 }, (_, index) => message(index, next));
    const sockets = Array.from({ length: 2 + Math.floor(next() * 6) }, () => ({
      packs: next() < 0.6,
      at: 0,
      batch: undefined as PreparedFrame | undefined,
      sequence: [] as Message[],
      made: [] as { batch: PreparedFrame; sequence: Message[] }[],
    }));
    for (let step = 0; step < 150; step++) {
      const socket = sockets[Math.floor(next() * sockets.length)];
      if (socket === undefined || socket.at >= pool.length) continue;
      const item = pool[socket.at++] as Message;
      if (next() < 0.25) continue; // not a subscriber of this one
      if (socket.batch === undefined || next() < 0.05) {
        socket.batch = item.frame;
        socket.sequence = [item];
      } else {
        socket.batch = socket.batch.followedBy(item.frame, jsonCodec.join, socket.packs);
        socket.sequence = [...socket.sequence, item];
      }
      socket.made.push({ batch: socket.batch, sequence: socket.sequence });
    }
    // Read only now, after every sibling appended what it did.
    for (const socket of sockets) {
      for (const { batch, sequence } of socket.made) {
        const frames = expected(sequence, socket.packs);
        assert.deepEqual(batch.payloads, frames, `seed ${seed}`);
        assert.equal(batch.payload, frames.join('\n'));
        assert.ok(batch.bound >= Buffer.byteLength(batch.payload as string), `seed ${seed} bound`);
      }
    }
  }
});
