import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadCodec } from '../protocol/codecs.js';
import { FrameType, type Frame } from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';
import type { StoredRecord } from './clone-records.js';
import { CloneRelay } from './clone-relay.js';
import type { RouteTable } from './routes.js';

interface Sent {
  encoded: { type: number; bytes: Uint8Array }[];
  frames: Frame[];
}

/** A link that records what it is given; `binary` is its codec's. */
function fakeLink(peerId: string, binary: boolean): { link: CloneLink; sent: Sent } {
  const sent: Sent = { encoded: [], frames: [] };
  const link = {
    peerId,
    connection: { codec: { binary } },
    send(frame: Frame) {
      sent.frames.push(frame);
      return true;
    },
    sendEncoded(type: number, bytes: Uint8Array) {
      sent.encoded.push({ type, bytes });
      return true;
    },
  };
  return { link: link as unknown as CloneLink, sent };
}

function record(id: string, groups: string[]): StoredRecord {
  return {
    id,
    instance: `${id}-1`,
    url: null,
    v: 1,
    links: [],
    groups: new Set(groups),
    gone: false,
  };
}

/** A relay on clone `hub` with links to `b` (binary) and `j` (not), `c` reached through `b`. */
function relay() {
  const b = fakeLink('b', true);
  const j = fakeLink('j', false);
  const links = new Map([
    ['b', b.link],
    ['j', j.link],
  ]);
  const hops = new Map([
    ['b', 'b'],
    ['c', 'b'],
    ['j', 'j'],
  ]);
  const records = [record('b', ['g']), record('c', ['g']), record('j', ['g'])];
  const relay = new CloneRelay({
    selfId: 'hub',
    instance: 'hub-instance',
    links,
    routes: { hop: (id: string) => hops.get(id) } as unknown as RouteTable,
    records: () => records,
    deliver: () => 0,
    groupDeleted: () => undefined,
    delivered: () => undefined,
  });
  return { relay, b: b.sent, j: j.sent };
}

test('a relay is written around the group message on MessagePack links, as a frame otherwise', async () => {
  const codec = await loadCodec('msgpack');
  const payload = codec.encode([FrameType.GROUP_MESSAGE, 'g', 'r', null, { n: 1 }]) as Uint8Array;
  const { relay: hub, b, j } = relay();

  assert.deepEqual(hub.publish({ target: 'g', payload }, 'hub'), ['b', 'c', 'j']);
  assert.equal(b.frames.length, 0);
  assert.equal(b.encoded.length, 1);
  assert.equal(b.encoded[0]?.type, FrameType.CLONE_RELAY);
  const expected = [FrameType.CLONE_RELAY, 'hub-instance', 1, ['b', 'c'], 'g', payload, 'hub'];
  assert.deepEqual(
    codec.decode(Buffer.from(b.encoded[0]?.bytes ?? [])),
    codec.decode(codec.encode(expected)),
  );
  // `j` is its own next hop and the only clone behind it: no list.
  assert.equal(j.encoded.length, 0);
  assert.deepEqual(j.frames, [
    [FrameType.CLONE_RELAY, 'hub-instance', 1, null, 'g', payload, 'hub'],
  ]);

  // Without acknowledgement the element is left out.
  hub.publish({ target: ['g', 'h'], payload });
  assert.deepEqual(
    codec.decode(Buffer.from(b.encoded[1]?.bytes ?? [])),
    codec.decode(
      codec.encode([FrameType.CLONE_RELAY, 'hub-instance', 2, ['b', 'c'], ['g', 'h'], payload]),
    ),
  );
  assert.deepEqual(j.frames[1], [
    FrameType.CLONE_RELAY,
    'hub-instance',
    2,
    null,
    ['g', 'h'],
    payload,
  ]);
});

test('a relay with a name UTF-8 cannot carry goes to the codec as a frame, unchanged', async () => {
  const codec = await loadCodec('msgpack');
  const payload = codec.encode([FrameType.GROUP_MESSAGE, 'g', 'r', null, 1]) as Uint8Array;
  const { relay: hub, b } = relay();
  // A lone surrogate in a target group id (the clones behind `b` are interested in `g`).
  for (const target of [
    ['g\ud800', 'g'],
    ['g', 'h\udc00'],
  ]) {
    hub.publish({ target, payload });
  }
  assert.equal(b.encoded.length, 0);
  assert.deepEqual(
    b.frames.map((frame) => frame[4]),
    [
      ['g\ud800', 'g'],
      ['g', 'h\udc00'],
    ],
  );
});
