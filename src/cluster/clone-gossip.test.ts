import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType, type CloneRecord } from '../protocol/frames.js';
import { CloneGossip, type GossipAction, type GossipFrame } from './clone-gossip.js';
import { CloneGroupsObserver } from './clone-groups.js';
import { CloneCap } from './clone-records-cap.js';
import { digestHash } from './digest-summary.js';

/** A gossip unit for clone `selfId` with live links to `links`, keeping `maxClones` records. */
function node(selfId: string, links: string[] = [], maxPayload = 1024 * 1024, maxClones = 1000) {
  const forgotten = new Set<string>();
  const warnings: string[] = [];
  const cap = new CloneCap({
    max: maxClones,
    preferred: (id) => links.includes(id),
    warn: (message) => warnings.push(message),
  });
  const interest = new CloneGroupsObserver({
    publish: () => undefined,
    deleteGroup: () => undefined,
    interestChanged: () => undefined,
  });
  const gossip: CloneGossip = new CloneGossip({
    selfId,
    instance: `${selfId}-1`,
    url: `ws://${selfId}`,
    interest,
    links: () => links,
    maxPayload: () => maxPayload,
    isForgotten: (id) => forgotten.has(id),
    cap,
    // Without a clone table, the clones known are those with a record.
    named: {
      has: (id): boolean => gossip.record(id) !== undefined,
      get size(): number {
        return gossip.size;
      },
    },
  });
  return { gossip, links, forgotten, interest, cap, warnings };
}

function record(id: string, v: number, links: string[] = [], groups: string[] = []): CloneRecord {
  return { id, instance: `${id}-1`, url: `ws://${id}`, v, links, groups };
}

/** `[to, frame]` of every frame the actions send, in order. */
function sent(actions: GossipAction[]): [string, GossipFrame][] {
  return actions.flatMap((action) =>
    action.type === 'send'
      ? action.frames.map((frame): [string, GossipFrame] => [action.to, frame])
      : [],
  );
}

function update(to: string, actions: GossipAction[]): CloneRecord[] {
  return sent(actions)
    .filter(([peer, frame]) => peer === to && frame[0] === FrameType.CLONE_UPDATE)
    .map(([, frame]) => frame[1] as CloneRecord);
}

test('a new record is applied, learned and passed on to the links that did not get it first-hand', () => {
  const { gossip } = node('b', ['a', 'c', 'd', 'e']);
  // e says it is linked to x: x told it first-hand.
  gossip.receive('e', [FrameType.CLONE_UPDATE, record('e', 1, ['b', 'x'])]);
  const actions = gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 1, ['c'], ['g'])]);
  assert.deepEqual(actions[0], { type: 'learn', id: 'x', url: 'ws://x', from: 'a' });
  // Not back to a (it came from there), not to c (x is linked to c), not to e (linked to x).
  assert.deepEqual(
    sent(actions).map(([to]) => to),
    ['d'],
  );
  assert.deepEqual(actions.at(-1), { type: 'changed' });
  // The same version again is stale: nothing to do, nothing forwarded.
  assert.deepEqual(gossip.receive('d', [FrameType.CLONE_UPDATE, record('x', 1, ['c'], ['g'])]), []);
  assert.deepEqual(gossip.record('x')?.groups, new Set(['g']));
});

test('a delta on the known base is applied; on an unknown base the sender is asked for the record', () => {
  const { gossip } = node('b', ['a']);
  const delta = (v: number, base: number): CloneRecord => ({
    id: 'x',
    instance: 'x-1',
    url: 'ws://x',
    v,
    links: [],
    base,
    add: ['g2'],
    del: ['g1'],
  });
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, delta(3, 2)]), [
    { type: 'send', to: 'a', frames: [[FrameType.CLONE_REQUEST, 'x']] },
  ]);
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 1, [], ['g1'])]);
  gossip.receive('a', [FrameType.CLONE_UPDATE, delta(2, 1)]);
  assert.deepEqual(gossip.record('x')?.groups, new Set(['g2']));
  assert.equal(gossip.record('x')?.v, 2);
});

test('a link coming up gets a CLONE_SYNC of every record but its own, and is announced at the next flush', () => {
  const { gossip, links } = node('b', ['c']);
  gossip.receive('c', [FrameType.CLONE_UPDATE, record('c', 1, ['b'])]);
  gossip.receive('c', [FrameType.CLONE_UPDATE, record('a', 4, ['c'])]);
  links.push('a');
  const known: [string, string | null][] = [['c', 'ws://c']];
  const actions = gossip.linkUp('a', known);
  const frames = sent(actions);
  assert.equal(frames.length, 1);
  const [to, frame] = frames[0] as [string, GossipFrame];
  assert.equal(to, 'a');
  assert.equal(frame[0], FrameType.CLONE_SYNC);
  assert.deepEqual(
    (frame[1] as CloneRecord[]).map((sync) => sync.id),
    ['c', 'b'],
  );
  assert.deepEqual(frame[2], known);
  // The new link is not announced at once, but at the next flush, to every link.
  assert.equal(gossip.dirty, true);
  const flushed = gossip.flush();
  assert.deepEqual(
    sent(flushed).map(([peer]) => peer),
    ['c', 'a'],
  );
  const [announced] = update('c', flushed);
  assert.deepEqual(announced?.links, ['c', 'a']);
  assert.equal(announced?.v, 1);
  assert.equal(gossip.flush().length, 0, 'nothing left to announce');
});

test('interest changes go out as one delta on the previous version; a large change as the full list', () => {
  const { gossip, interest } = node('b', ['a']);
  interest.interestAdded('g1');
  interest.interestAdded('g2');
  interest.interestRemoved('g1');
  const [delta] = update('a', gossip.flush());
  assert.deepEqual(
    { v: delta?.v, base: delta?.base, add: delta?.add, del: delta?.del, groups: delta?.groups },
    { v: 1, base: 0, add: ['g2'], del: [], groups: undefined },
  );
  const many = Array.from({ length: 300 }, (_, n) => `m${n}`);
  for (const group of many) interest.interestAdded(group);
  assert.deepEqual(update('a', gossip.flush())[0]?.add?.length, 300);
  for (const group of many.slice(10)) interest.interestRemoved(group);
  // 290 removals against 11 groups left: the full list is shorter than the delta.
  const [full] = update('a', gossip.flush());
  assert.equal(full?.v, 3);
  assert.equal(full?.base, undefined);
  assert.deepEqual(full?.groups, ['g2', ...many.slice(0, 10)]);
});

test('CLONE_REQUEST is answered with the full record, own or known; an unknown id gets nothing', () => {
  const { gossip, interest } = node('b', ['a']);
  interest.interestAdded('g');
  gossip.flush();
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 7, [], ['h'])]);
  assert.deepEqual(update('a', gossip.receive('a', [FrameType.CLONE_REQUEST, 'b'])), [
    gossip.ownRecord(),
  ]);
  assert.deepEqual(update('a', gossip.receive('a', [FrameType.CLONE_REQUEST, 'x'])), [
    record('x', 7, [], ['h']),
  ]);
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_REQUEST, 'nobody']), []);
});

test('a digest asks for newer records and sends the peer what it lacks, except first-hand records', () => {
  const { gossip } = node('b', ['a']);
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 2)]);
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('y', 1, ['a'])]);
  const actions = gossip.receive('a', [
    FrameType.CLONE_DIGEST,
    [
      ['x', 1],
      ['z', 5],
    ],
  ]);
  const frames = sent(actions);
  assert.deepEqual(
    frames.filter(([, frame]) => frame[0] === FrameType.CLONE_REQUEST).map(([, frame]) => frame[1]),
    ['z'],
  );
  // Its own record (the peer has none) and x (the peer's is older); not y: y is linked to a.
  assert.deepEqual(
    update('a', actions).map((sent) => sent.id),
    ['b', 'x'],
  );
  // Up to date both ways: nothing to send.
  const current = gossip.receive('a', [
    FrameType.CLONE_DIGEST,
    [
      ['b', 0],
      ['x', 2],
      ['y', 1],
    ],
  ]);
  assert.deepEqual(current, []);
});

test("a record with this clone's id from another instance is a duplicate; a tombstone drops a clone", () => {
  const { gossip } = node('b', ['a', 'c']);
  const impostor: CloneRecord = { ...record('b', 9), instance: 'other' };
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, impostor]), [
    { type: 'duplicate', id: 'b', why: "another server announces this server's own id" },
  ]);
  // Its own record coming back, or another instance's tombstone (a restart), is no duplicate.
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, record('b', 9)]), []);
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, { ...impostor, gone: true }]), []);
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 1)]);
  const gone = gossip.receive('a', [FrameType.CLONE_UPDATE, { ...record('x', 2), gone: true }]);
  assert.deepEqual(gone[0], { type: 'gone', id: 'x' });
  assert.deepEqual(
    sent(gone).map(([to]) => to),
    ['c'],
  );
  assert.deepEqual(
    gossip.topology().map((entry) => entry.id),
    ['b'],
  );
});

test('nothing said about a deleted clone is taken in', () => {
  const { gossip, forgotten } = node('b', ['a']);
  forgotten.add('x');
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 1)]), []);
  assert.equal(gossip.record('x'), undefined);
  const digest = gossip.receive('a', [FrameType.CLONE_DIGEST, [['x', 3]]]);
  assert.equal(
    sent(digest).some(([, frame]) => frame[0] === FrameType.CLONE_REQUEST),
    false,
  );
});

test('a record larger than the peer accepts goes in pages and is applied when the last page is in', () => {
  const sender = node('x', ['b'], 4096);
  const groups = Array.from({ length: 400 }, (_, n) => `group-${n}`);
  for (const group of groups) sender.interest.interestAdded(group);
  const pages = update('b', sender.gossip.receive('b', [FrameType.CLONE_REQUEST, 'x']));
  assert.ok(pages.length > 1, 'paged');
  const receiver = node('b', ['x', 'c']);
  for (const page of pages.slice(0, -1)) {
    assert.deepEqual(receiver.gossip.receive('x', [FrameType.CLONE_UPDATE, page]), []);
  }
  const last = receiver.gossip.receive('x', [FrameType.CLONE_UPDATE, pages.at(-1) as CloneRecord]);
  assert.deepEqual(last[0], { type: 'learn', id: 'x', url: 'ws://x', from: 'x' });
  assert.deepEqual([...(receiver.gossip.record('x')?.groups ?? [])], groups);
});

test('tick announces pending link changes, then sends a digest to every link; leave sends a tombstone', () => {
  const { gossip, links } = node('b', ['a']);
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 4)]);
  links.push('c');
  gossip.linkUp('c', []);
  const frames = sent(gossip.tick());
  assert.deepEqual(
    frames.map(([to, frame]) => [to, frame[0]]),
    [
      ['a', FrameType.CLONE_UPDATE],
      ['c', FrameType.CLONE_UPDATE],
      ['a', FrameType.CLONE_DIGEST],
      ['c', FrameType.CLONE_DIGEST],
    ],
  );
  // The compact form: the count and hash of b's versions, no list.
  assert.deepEqual(frames[2]?.[1], [
    FrameType.CLONE_DIGEST,
    [],
    2,
    digestHash([
      ['b', 1],
      ['x', 4],
    ]),
  ]);
  const [farewell] = update('a', gossip.leave());
  assert.deepEqual(
    { v: farewell?.v, gone: farewell?.gone, links: farewell?.links, groups: farewell?.groups },
    { v: 2, gone: true, links: [], groups: [] },
  );
});

/** Delivers the `send` actions of `from` to the gossips in `nodes` until none is left. */
function deliver(
  nodes: Map<string, CloneGossip>,
  from: string,
  actions: GossipAction[],
  log: [string, string, GossipFrame][],
): void {
  const queue: [string, string, GossipFrame][] = sent(actions).map(([to, f]) => [from, to, f]);
  for (let item = queue.shift(); item !== undefined; item = queue.shift()) {
    log.push(item);
    const [sender, to, frame] = item;
    const reply = nodes.get(to)?.receive(sender, frame) ?? [];
    for (const [next, f] of sent(reply)) queue.push([to, next, f]);
  }
}

function isFullDigest(frame: GossipFrame): boolean {
  return frame[0] === FrameType.CLONE_DIGEST && frame[3] === undefined;
}

test('a digest exchange in sync sends only count and hash; a difference gets the full list and is repaired', () => {
  const a = node('a', ['b']);
  const b = node('b', ['a']);
  const nodes = new Map([
    ['a', a.gossip],
    ['b', b.gossip],
  ]);
  const log: [string, string, GossipFrame][] = [];
  deliver(nodes, 'a', a.gossip.linkUp('b', []), log);
  deliver(nodes, 'b', b.gossip.linkUp('a', []), log);
  // Both learn x (one version) from elsewhere, and announce their new links.
  a.gossip.receive('b', [FrameType.CLONE_UPDATE, record('x', 2)]);
  b.gossip.receive('a', [FrameType.CLONE_UPDATE, record('x', 2)]);
  deliver(nodes, 'a', a.gossip.flush(), log);
  deliver(nodes, 'b', b.gossip.flush(), log);
  log.length = 0;
  deliver(nodes, 'a', a.gossip.tick(), log);
  deliver(nodes, 'b', b.gossip.tick(), log);
  assert.deepEqual(
    log.map(([from, to, frame]) => [from, to, frame[0], frame[2]]),
    [
      ['a', 'b', FrameType.CLONE_DIGEST, 3],
      ['b', 'a', FrameType.CLONE_DIGEST, 3],
    ],
    'one compact digest each way, nothing else',
  );
  // b misses a newer x: a's compact digest differs, b answers with its list, a sends x.
  a.gossip.receive('b', [FrameType.CLONE_UPDATE, record('x', 3)]);
  log.length = 0;
  deliver(nodes, 'a', a.gossip.tick(), log);
  assert.deepEqual(
    log.map(([from, to, frame]) => [from, to, frame[0], isFullDigest(frame)]),
    [
      ['a', 'b', FrameType.CLONE_DIGEST, false],
      ['b', 'a', FrameType.CLONE_DIGEST, true],
      ['a', 'b', FrameType.CLONE_UPDATE, false],
    ],
  );
  assert.equal(b.gossip.record('x')?.v, 3);
  log.length = 0;
  deliver(nodes, 'b', b.gossip.tick(), log);
  assert.equal(log.length, 1, 'in sync again: one compact digest');
});

test('past maxClones, records of new clones are refused (counted, one warning); held and linked ones still apply', () => {
  const { gossip, cap, warnings } = node('b', ['rogue', 'real'], 1024 * 1024, 3);
  gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('rogue', 1, ['b'])]);
  for (let i = 0; i < 100; i++) {
    gossip.receive('rogue', [FrameType.CLONE_UPDATE, record(`fake-${i}`, 1, ['rogue'])]);
  }
  assert.equal(gossip.size, 3, 'the rogue and two made-up clones');
  assert.equal(cap.refused, 98);
  assert.equal(warnings.length, 1, 'one warning, not one per record');
  // Nothing refused is learned, passed on or acknowledged.
  const refused = gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('fake-50', 1)]);
  assert.deepEqual(refused, []);
  // A held clone's newer version still applies; a linked clone gets in past the cap.
  const newer = gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('fake-0', 2, ['rogue'])]);
  assert.ok(newer.some((action) => action.type === 'applied'));
  gossip.receive('real', [FrameType.CLONE_UPDATE, record('real', 1, ['b'])]);
  assert.equal(gossip.record('real')?.v, 1);
  assert.equal(gossip.size, 4);
  // A full digest of made-up ids makes it ask for none of them.
  const entries: [string, number][] = Array.from({ length: 50 }, (_, i) => [`other-${i}`, 1]);
  const asked = sent(gossip.receive('rogue', [FrameType.CLONE_DIGEST, entries])).filter(
    ([, frame]) => frame[0] === FrameType.CLONE_REQUEST,
  );
  assert.deepEqual(asked, []);
});

test('a record listing more links than maxClones is refused unless its clone is linked', () => {
  const { gossip, cap } = node('b', ['rogue'], 1024 * 1024, 5);
  const links = Array.from({ length: 6 }, (_, i) => `l${i}`);
  gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('x', 1, links)]);
  assert.equal(gossip.record('x'), undefined);
  assert.equal(cap.refused, 1);
  gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('rogue', 1, links)]);
  assert.equal(gossip.record('rogue')?.links.length, 6);
});

test('the pages of a refused record are not collected, and the refusal counts once', () => {
  const sender = node('x', ['b'], 4096);
  for (let n = 0; n < 400; n++) sender.interest.interestAdded(`group-${n}`);
  const pages = update('b', sender.gossip.receive('b', [FrameType.CLONE_REQUEST, 'x']));
  assert.ok(pages.length > 1, 'paged');
  const receiver = node('b', ['rogue'], 1024 * 1024, 1);
  receiver.gossip.receive('rogue', [FrameType.CLONE_UPDATE, record('held', 1)]);
  for (const page of pages) receiver.gossip.receive('rogue', [FrameType.CLONE_UPDATE, page]);
  assert.equal(receiver.gossip.record('x'), undefined);
  assert.equal(receiver.cap.refused, 1);
});

test('tombstones: of an unknown clone ignored; held ones make room for live records, oldest first', () => {
  const { gossip, cap } = node('b', ['a'], 1024 * 1024, 3);
  const tombstone = (id: string): CloneRecord => ({ ...record(id, 2), gone: true });
  assert.deepEqual(gossip.receive('a', [FrameType.CLONE_UPDATE, tombstone('stranger')]), []);
  assert.equal(gossip.size, 0);
  for (const id of ['x', 'y', 'z']) gossip.receive('a', [FrameType.CLONE_UPDATE, record(id, 1)]);
  for (const id of ['x', 'y']) gossip.receive('a', [FrameType.CLONE_UPDATE, tombstone(id)]);
  assert.equal(gossip.size, 3);
  // Without a clone table, tombstones still count as known clones here; a linked clone's
  // record (past the cap) pushes out the oldest tombstone.
  gossip.receive('a', [FrameType.CLONE_UPDATE, record('a', 1, ['b'])]);
  assert.equal(gossip.size, 3);
  assert.equal(gossip.record('x'), undefined);
  assert.equal(gossip.record('y')?.gone, true);
  assert.equal(gossip.record('z')?.gone, false);
  assert.equal(cap.refused, 0);
});
