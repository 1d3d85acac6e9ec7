/**
 * Memory of group history: keeps `COUNT` typical chat messages (a 100-character text and a
 * number, as MessagePack GROUP_MESSAGE frames with their position) in one HistoryStore and
 * reports heap + array buffers per 1,000 kept messages, after a forced GC.
 *
 * node --expose-gc --import tsx bench/history-memory.ts [count] [groups]
 */
import { HistoryStore } from '../src/groups/history.js';
import { FanoutMessage } from '../src/groups/fanout-message.js';
import { loadCodec } from '../src/protocol/codecs.js';

const count = Number(process.argv[2] ?? 100_000);
const groups = Number(process.argv[3] ?? 10);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function used(): number {
  gc?.();
  gc?.();
  const memory = process.memoryUsage();
  return memory.heapUsed + memory.arrayBuffers;
}

const codec = await loadCodec('msgpack');
const history = new HistoryStore({ size: Math.ceil(count / groups), ttl: 3_600_000 });
history.codec = codec;
const text = 'x'.repeat(100);
const before = used();
for (let n = 0; n < count; n++) {
  const target = `room-${n % groups}`;
  const position = history.stamp(target);
  if (position === undefined) throw new Error('no position');
  const message = FanoutMessage.fromFields(target, 'chat', null, { text, n }, position);
  history.keepPublished(message, position);
}
const after = used();
const bytes = (message: number): string => `${(message / 1024).toFixed(1)} KiB`;
const frame = codec.encode([
  8,
  'room-0',
  'chat',
  null,
  { text, n: 99_999 },
  [history.stream, 9999],
]);
console.log(
  `${history.size} messages kept in ${groups} groups: ${bytes(after - before)} in all, ` +
    `${bytes(((after - before) / history.size) * 1000)} per 1,000 messages ` +
    `(frame ${typeof frame === 'string' ? frame.length : frame.byteLength} bytes)`,
);
