import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { WsMeshError } from '../errors.js';
import { FrameType } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import { CloneLink } from './clone-link.js';
import { LinkTable } from './link-table.js';

/** The part of a Connection a link uses: close, and a send that may throw. */
function connection(send: () => void = () => undefined) {
  const fake = {
    closed: false,
    closeReason: undefined as string | undefined,
    close(_code: number, reason: string) {
      fake.closed = true;
      fake.closeReason = reason;
    },
    send,
    sendEncoded: send,
  };
  return fake;
}

function link(peerId: string, dialerId: string, conn = connection()): CloneLink {
  return new CloneLink(
    peerId,
    dialerId === peerId ? 'in' : 'out',
    conn as unknown as Connection,
    dialerId,
  );
}

test('two links to one clone: the one dialed by the smaller id stays, whichever came first', () => {
  for (const order of [0, 1]) {
    const table = new LinkTable(() => undefined);
    const fromA = link('b', 'a'); // this server is a, it dialed b
    const fromB = link('b', 'b'); // b dialed in
    const [first, second] = order === 0 ? [fromA, fromB] : [fromB, fromA];
    assert.equal(table.open(first), true);
    assert.equal(table.open(second), second === fromA);
    assert.equal(table.live.get('b'), fromA);
    assert.equal(fromB.closed, true, 'the other link is closed');
    // The loser's close changes nothing; the live link's close removes it.
    assert.equal(table.close(fromB), false);
    assert.equal(table.close(fromA), true);
    assert.equal(table.live.size, 0);
  }
});

test('a link to a clone whose old link is closing replaces it, whoever dialed', () => {
  const table = new LinkTable(() => undefined);
  const old = link('b', 'a');
  table.open(old);
  old.close(1000, 'gone');
  const again = link('b', 'b');
  assert.equal(table.open(again), true);
  assert.equal(again.closed, false);
  assert.equal(table.live.get('b'), again);
  assert.equal(table.close(old), false, "the old link's close changes nothing");
});

test('inbound links are found by connection; another instance of a linked id is a conflict', () => {
  const table = new LinkTable(() => undefined);
  const conn = connection() as unknown as Connection;
  const inbound = table.addInbound(conn, 'b', 'b-1');
  table.open(inbound);
  assert.equal(table.inboundLink(conn), inbound);
  assert.equal(table.claimedByOther('b', 'b-1'), false);
  assert.equal(table.claimedByOther('b', undefined), false);
  assert.equal(table.claimedByOther('b', 'b-2'), true);
  // An outbound link learns its peer's instance from the first CLONE_SYNC; until then, no conflict.
  table.open(link('c', 'a'));
  assert.equal(table.claimedByOther('c', 'c-9'), false);
  assert.equal(table.removeInbound(conn), inbound);
  assert.equal(inbound.closed, true);
  assert.equal(table.inboundLink(conn), undefined);
});

/** A table with an open link to `b` whose every send throws, and what the table reports. */
function failingLink(): { table: LinkTable; live: CloneLink; reported: WsMeshError[] } {
  const reported: WsMeshError[] = [];
  const table = new LinkTable((error) => reported.push(error));
  const live = link(
    'b',
    'a',
    connection(() => {
      throw new Error('too large');
    }),
  );
  table.open(live);
  return { table, live, reported };
}

test('a frame a live link could not send is counted and reported', () => {
  const { table, live, reported } = failingLink();
  const record = { id: 'a', instance: 'i', url: null, v: 1, links: [] };
  assert.equal(live.send([FrameType.CLONE_UPDATE, record]), false);
  assert.equal(table.framesUnsent, 1);
  assert.equal(reported.length, 1);
  assert.match(reported[0]?.message ?? '', /Clone frame 21 for "b" was not sent: too large/);
});

test('an encoded frame a live link could not send is reported with its type', () => {
  const { table, live, reported } = failingLink();
  assert.equal(live.sendEncoded(FrameType.CLONE_RELAY, new Uint8Array([0x90])), false);
  assert.equal(table.framesUnsent, 1);
  assert.match(reported[0]?.message ?? '', /Clone frame 24 for "b" was not sent: too large/);
  assert.deepEqual(reported[0]?.data, { peer: 'b', frameType: FrameType.CLONE_RELAY });
});
