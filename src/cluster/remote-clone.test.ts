import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RemoteClone } from './remote-clone.js';

test('a remote clone moves between states only by its events', () => {
  const clone = new RemoteClone('b', 'ws://b', false);
  assert.equal(clone.state, 'unreachable');
  clone.dialing();
  assert.equal(clone.state, 'connecting');
  // A refresh keeps `connecting` while the dial runs, unless a path shows up.
  clone.refresh(false, false, 1);
  assert.equal(clone.state, 'connecting');
  clone.dialFailed(true);
  assert.equal(clone.state, 'routed');
  clone.linkUp(5);
  assert.equal(clone.state, 'linked');
  assert.equal(clone.lastSeen, 5);
  // A failed dial does not hide a link that came up the other way, nor does `dialing`.
  clone.dialFailed(false);
  clone.dialing();
  assert.equal(clone.state, 'linked');
  clone.linkDown();
  assert.equal(clone.state, 'unreachable');
  assert.equal(clone.lastSeen, 5, 'lastSeen is when it was last reachable');
  clone.refresh(false, true, 9);
  assert.equal(clone.state, 'routed');
  assert.equal(clone.lastSeen, 9);
  clone.refresh(false, false, 12);
  assert.equal(clone.state, 'unreachable');
  assert.equal(clone.lastSeen, 9);
});
