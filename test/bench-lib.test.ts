/**
 * The benchmark's own logic that its figures depend on: the batched raw ws contender batches
 * exactly as wsmesh's protocol does (one message per tick, frames joined by a line feed,
 * at most 64 KiB, readable by wsmesh's JSON codec), the cost curves' generated sentence, and
 * the idle traffic of the clones curve (socket bytes, not file writes).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bendSentence } from '../bench/lib/curve-bend.js';
import { countSocketBytes } from '../bench/lib/socket-bytes.js';
import {
  BATCH_MAX_BYTES,
  eachPacked,
  eachValue,
  joinBytes,
  joinText,
  packLines,
  TickBatch,
} from '../bench/lib/tick-batch.js';
import { FanoutMessage } from '../src/groups/fanout-message.js';
import { jsonCodec } from '../src/protocol/codec.js';
import { BATCH_MAX_BYTES as WSMESH_BATCH_MAX_BYTES } from '../src/transport/connection.js';

function tick(): Promise<void> {
  return new Promise((resolve) => process.nextTick(resolve));
}

describe('bench: ws-batched batches as wsmesh does', () => {
  test('the messages of one tick leave as one batch at the end of the tick', async () => {
    const batches: string[] = [];
    const batch = new TickBatch<string>((parts) => batches.push(joinText(parts)));
    batch.add('[1]');
    batch.add('[2]');
    batch.add('[3]');
    assert.deepEqual(batches, []);
    await tick();
    assert.deepEqual(batches, ['[1]\n[2]\n[3]']);
    batch.add('[4]');
    await tick();
    assert.deepEqual(batches, ['[1]\n[2]\n[3]', '[4]']);
  });

  test('a batch never exceeds wsmesh’s 64 KiB cap (bounded as wsmesh bounds it)', async () => {
    assert.equal(BATCH_MAX_BYTES, WSMESH_BATCH_MAX_BYTES);
    const sizes: number[] = [];
    const batch = new TickBatch<Buffer>((parts) => sizes.push(joinBytes(parts).length));
    const part = Buffer.alloc(10_000, 'x');
    for (let index = 0; index < 13; index++) batch.add(part);
    await tick();
    // 6 parts and 5 separators fit (60,005 bytes); a 7th would not.
    assert.deepEqual(sizes, [60_005, 60_005, 10_000]);
    assert.ok(sizes.every((size) => size <= BATCH_MAX_BYTES));
  });

  test('wsmesh’s JSON codec reads a ws-batched batch frame by frame, and back', () => {
    const frames = [
      [8, 'g', 'm', null, { seq: 1 }],
      [8, 'g', 'm', null, { seq: 2, text: 'a\nb' }],
    ];
    const payload = joinText(frames.map((frame) => JSON.stringify(frame)));
    const decoded: unknown[] = [];
    jsonCodec.decodeEach(payload, (value) => decoded.push(value));
    assert.deepEqual(decoded, frames);
    const read: unknown[] = [];
    eachValue(Buffer.from(payload), (value) => read.push(value));
    assert.deepEqual(read, frames);
  });
});

describe('bench: ws-batched packs fan-out as wsmesh packs group messages', () => {
  test('one array of the same payloads that wsmesh packs in one GROUP_MESSAGES frame', () => {
    const datas = [{ seq: 1 }, { seq: 2, text: 'a\nb' }, 'three'];
    const lines = joinBytes(datas.map((data) => Buffer.from(JSON.stringify(data))));
    const read: unknown[] = [];
    eachPacked(packLines(lines), (value) => read.push(value));
    assert.deepEqual(read, datas);
    const frames = datas.map((data) => FanoutMessage.fromFields('g', 'm', null, data));
    const [first, ...rest] = frames.map((message) => message.frameFor(jsonCodec));
    let batch = first;
    for (const next of rest) batch = batch?.followedBy(next, jsonCodec.join, true);
    assert.deepEqual(jsonCodec.decode(batch?.payload ?? ''), [18, 'g', 'm', null, read]);
  });
});

describe('bench: where a curve bends', () => {
  test('flat, bending and falling costs are told apart', () => {
    const series = (ys: number[]): { contender: 'wsmesh'; points: [number, number][] }[] => [
      { contender: 'wsmesh', points: ys.map((y, index): [number, number] => [10 ** index, y]) },
    ];
    assert.match(bendSentence('cost', series([1, 1.2, 0.9])), /stays flat, between 0\.9 and 1\.2/);
    assert.match(bendSentence('cost', series([1, 1.2, 1.6, 3])), /bends up at 100 \(1\.6, 1\.6x/);
    assert.match(bendSentence('cost', series([4, 2, 1])), /falls from 4 at 1 to 1 at 100/);
    // A cost that falls, then climbs past 1.5x its low, bends up; short of that it falls.
    assert.match(bendSentence('cost', series([2, 1, 1.4])), /falls from 2 at 1 to 1\.4 at 100/);
    assert.match(
      bendSentence('cost', series([2, 1, 1.2, 1.9])),
      /dips from 2 at 1 to 1 at 10, then bends up at 1,000 \(1\.9, 1\.9x its low\)/,
    );
    assert.match(bendSentence('cost', series([-1, 2, 2.1])), /stays flat/);
  });
});

describe('bench: socket bytes (the clones curve’s idle traffic)', () => {
  test('counts what TCP sockets write and read both ways, and no file writes', async () => {
    const bytesMoved = countSocketBytes();
    const before = bytesMoved();
    const server = createServer((socket) => socket.on('data', (chunk) => socket.write(chunk)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const { port } = server.address() as AddressInfo;
    const client: Socket = connect(port, '127.0.0.1');
    await once(client, 'connect');
    const directory = mkdtempSync(join(tmpdir(), 'wsmesh-socket-bytes-'));
    try {
      writeFileSync(join(directory, 'big'), Buffer.alloc(100_000));
      const echoedBack = new Promise<void>((resolve, reject) => {
        let echoed = 0;
        const timer = setTimeout(() => reject(new Error('no echo within 5 s')), 5_000);
        client.on('data', (chunk: Buffer) => {
          echoed += chunk.length;
          if (echoed < 1_000) return;
          clearTimeout(timer);
          resolve();
        });
      });
      client.write(Buffer.alloc(1_000, 1));
      await echoedBack;
      const moved = bytesMoved();
      // The client's 1,000 bytes and the server's echo, each written once and read once.
      assert.equal(moved.written - before.written, 2_000);
      assert.equal(moved.read - before.read, 2_000);
    } finally {
      rmSync(directory, { recursive: true, force: true });
      client.destroy();
      server.close();
    }
  });
});
