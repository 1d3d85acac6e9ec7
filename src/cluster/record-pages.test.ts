import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Packr } from 'msgpackr';
import type { CloneRecord } from '../protocol/frames.js';
import { MAX_ASSEMBLIES_PER_LINK, PageAssembler, paginate, syncParts } from './record-pages.js';

const packr = new Packr({ useRecords: false, variableMapSize: true });

function record(groups: number, length: number): CloneRecord {
  return {
    id: 'clone-a',
    instance: 'i-1',
    url: 'ws://127.0.0.1:1',
    v: 7,
    links: ['clone-b', 'clone-c'],
    groups: Array.from({ length: groups }, (_, n) => `${n}-`.padEnd(length, 'é')),
  };
}

test('paginate keeps a small record whole and cuts a large one into frames under the limit', () => {
  const small = record(10, 20);
  assert.deepEqual(paginate(small, 64 * 1024), [small]);
  const large = record(5000, 256);
  const pages = paginate(large, 64 * 1024);
  assert.ok(pages.length > 10);
  for (const page of pages) {
    assert.ok(packr.pack([21, page]).byteLength <= 64 * 1024);
    assert.equal(page.v, 7);
  }
  assert.deepEqual(
    pages.flatMap((page) => page.groups),
    large.groups,
  );
  const delta: CloneRecord = {
    ...large,
    groups: undefined,
    base: 6,
    add: large.groups,
    del: ['x'],
  };
  delete delta.groups;
  const deltaPages = paginate(delta, 8 * 1024);
  for (const page of deltaPages) {
    assert.ok(Array.isArray(page.add) && Array.isArray(page.del) && page.groups === undefined);
    assert.ok(packr.pack([21, page]).byteLength <= 8 * 1024);
  }
});

test('PageAssembler: any order, one record once, pages of two senders never mixed', () => {
  const large = record(3000, 100);
  const fromB = paginate(large, 32 * 1024) as (CloneRecord & { page: [number, number] })[];
  const fromC = paginate(large, 20 * 1024) as (CloneRecord & { page: [number, number] })[];
  const assembler = new PageAssembler();
  let whole: CloneRecord | undefined;
  const interleaved = [...fromB.reverse(), ...fromC].sort(() => 0.5 - Math.random());
  let completions = 0;
  for (const page of interleaved) {
    const done = assembler.add(page.page[1] === fromB.length ? 'b' : 'c', page, 0);
    if (done !== undefined) {
      completions++;
      whole = done;
      assert.deepEqual(done.groups, large.groups);
      assert.equal(done.page, undefined);
    }
  }
  assert.equal(completions, 2);
  assert.equal(whole?.v, 7);
  assert.equal(assembler.size, 0);
  assembler.add('b', fromB[0] as CloneRecord & { page: [number, number] }, 0);
  assert.equal(assembler.size, 1);
  assembler.sweep(1);
  assert.equal(assembler.size, 0);
});

test('syncParts: known clones and pages spread over frames under the limit', () => {
  const known: [string, string | null][] = Array.from({ length: 2000 }, (_, n) => [
    `clone-${n}`,
    `ws://10.0.0.${n % 250}:${4000 + n}`,
  ]);
  const frames = syncParts([record(5000, 64), record(3, 8)], known, 16 * 1024);
  assert.ok(frames.length > 2);
  for (const [records, clones] of frames) {
    assert.ok(packr.pack([20, records, clones]).byteLength <= 16 * 1024);
  }
  assert.equal(frames.flatMap(([, clones]) => clones).length, 2000);
});

test('PageAssembler: a link that starts records and never ends them holds at most a few', () => {
  const assembler = new PageAssembler();
  const page = (
    id: string,
    index: number,
    count: number,
  ): CloneRecord & { page: [number, number] } => ({
    id,
    instance: 'i-1',
    url: null,
    v: 1,
    links: [],
    groups: [`g-${index}`],
    page: [index, count],
  });
  // Another link's record in assembly stays whatever the rogue link does.
  assert.equal(assembler.add('good', page('real', 0, 2), 0), undefined);
  for (let n = 0; n < 1000; n++) assembler.add('rogue', page(`fake-${n}`, 0, 65_536), 0);
  assert.equal(assembler.size, MAX_ASSEMBLIES_PER_LINK + 1);
  assert.deepEqual(assembler.add('good', page('real', 1, 2), 0)?.groups, ['g-0', 'g-1']);
  // The oldest go first: the record a link sends now still completes.
  assert.equal(assembler.add('rogue', page('fake-x', 0, 2), 0), undefined);
  assert.equal(assembler.size, MAX_ASSEMBLIES_PER_LINK);
  assert.deepEqual(assembler.add('rogue', page('fake-x', 1, 2), 0)?.groups, ['g-0', 'g-1']);
});
