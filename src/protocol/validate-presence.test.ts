import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateFrame } from './validate.js';

const bytes = new Uint8Array([1]);

test('presence and acknowledgement frames: well-formed ones pass', () => {
  for (const frame of [
    [5, 1, 'g', { presence: true, data: { any: 'thing' } }],
    [5, 1, 'g', null],
    [7, 1, 'g', null, null, 'x', false, 'cluster'],
    [7, 1, 'g', null, null, 'x', false, null],
    [16, 2, 'g', true],
    [17, 'g', true, 'alice', null, 'node-1'],
    [24, 'inst', 3, null, 'g', bytes, 'a'],
    [50, 'a', 'b', 7],
    [51, 'a', 'b', 3, 0],
    [52, 'a', 'b', 'g', true, [['k', 'alice', { x: 1 }]], ['k2']],
    [53, 'a', 'b', 'g'],
  ])
    assert.doesNotThrow(() => validateFrame(frame), JSON.stringify(frame));
  // countOnly defaults to false.
  assert.deepEqual(validateFrame([16, 2, 'g']), [16, 2, 'g', false]);
});

test('presence and acknowledgement frames: malformed ones are ERR_BAD_FRAME, with the request id', () => {
  const cases: [unknown[], number | undefined][] = [
    [[5, 4, 'g', 'presence'], 4],
    [[5, 4, 'g', { presence: 'yes' }], 4],
    [[7, 5, 'g', null, null, 1, false, 'node'], 5],
    [[16, 0, 'g'], undefined],
    [[16, 6, ''], 6],
    [[17, 'g', 'yes', 'alice', null, 'n'], undefined],
    [[24, 'inst', 3, null, 'g', bytes, 7], undefined],
    [[50, 'a', 'b', -1], undefined],
    [[51, 'a', 'b', 1], undefined],
    [[52, 'a', 'b', 'g', true, [['k']], []], undefined],
    [[52, 'a', 'b', 'g', 'no', [], []], undefined],
    [[53, 'a', 'b'], undefined],
  ];
  for (const [frame, id] of cases) {
    assert.throws(
      () => validateFrame(frame),
      (error: { code?: string; data?: unknown }) =>
        error.code === 'ERR_BAD_FRAME' &&
        (id === undefined || (error.data as { id?: number } | undefined)?.id === id),
      JSON.stringify(frame),
    );
  }
});
