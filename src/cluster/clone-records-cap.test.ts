import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CloneCap, WARN_INTERVAL_MS } from './clone-records-cap.js';

test('CloneCap: room up to max, preferred clones past it; refusals counted, one warning per interval', () => {
  let now = 0;
  const warnings: Record<string, unknown>[] = [];
  const cap = new CloneCap(
    {
      max: 2,
      preferred: (id) => id === 'linked',
      warn: (_message, fields) => warnings.push(fields),
    },
    () => now,
  );
  assert.equal(cap.admit('a', 0, 'record'), true);
  assert.equal(cap.admit('b', 1, 'record'), true);
  assert.equal(cap.admit('linked', 2, 'record'), true);
  assert.equal(cap.refused, 0);
  for (let n = 0; n < 10; n++) assert.equal(cap.admit(`fake-${n}`, 2, 'record', 'rogue'), false);
  assert.equal(cap.refused, 10);
  assert.equal(warnings.length, 1);
  assert.deepEqual(warnings[0], { clone: 'fake-0', from: 'rogue', refused: 1, refusedTotal: 1 });
  now += WARN_INTERVAL_MS;
  cap.admit('fake-x', 2, 'name', 'rogue');
  assert.equal(warnings.length, 2);
  assert.equal(warnings[1]?.refused, 10, 'the refusals since the last warning');
  assert.equal(cap.linksFit('x', ['1', '2', '3']), false);
  assert.equal(cap.linksFit('linked', ['1', '2', '3']), true);
});
