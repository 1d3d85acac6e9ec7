import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { InvalidOptionError } from '../errors.js';
import { UrlRotation } from './url-rotation.js';

const A = 'ws://a.test/';
const B = 'ws://b.test/';
const C = 'ws://c.test/';

/** The urls `advance()` visits in `count` steps, starting with the current one. */
function visits(rotation: UrlRotation, count: number): (string | undefined)[] {
  const seen = [rotation.current];
  for (let i = 1; i < count; i++) {
    rotation.advance();
    seen.push(rotation.current);
  }
  return seen;
}

describe('UrlRotation', () => {
  test('round robin over the urls, starting with the first', () => {
    assert.deepEqual(visits(new UrlRotation([A, B, C]), 7), [A, B, C, A, B, C, A]);
  });

  test('a copy of the list is kept: changing the input or list() changes nothing', () => {
    const input = [A, B];
    const rotation = new UrlRotation(input);
    input.push(C);
    rotation.list().push(C);
    assert.deepEqual(rotation.list(), [A, B]);
    assert.equal(rotation.size, 2);
  });

  test('add() appends a new url, refuses a duplicate and checks it', () => {
    const rotation = new UrlRotation([A]);
    assert.equal(rotation.add(B), true);
    assert.equal(rotation.add(B), false);
    assert.deepEqual(rotation.list(), [A, B]);
    assert.throws(() => rotation.add('ftp://a.test/'), InvalidOptionError);
    assert.deepEqual(visits(rotation, 3), [A, B, A]);
  });

  test('deleting the current url: the next attempt goes to the url after it, not one further', () => {
    const rotation = new UrlRotation([A, B, C]);
    rotation.advance(); // at B
    assert.equal(rotation.delete(), true);
    assert.equal(rotation.current, C);
    rotation.advance(); // the failure of the deleted url's connection: stays on C once
    assert.equal(rotation.current, C);
    assert.deepEqual(visits(rotation, 3), [C, A, C]);
  });

  test('deleting a url before the current one keeps the current one', () => {
    const rotation = new UrlRotation([A, B, C]);
    rotation.advance();
    rotation.advance(); // at C
    assert.equal(rotation.delete(A), true);
    assert.equal(rotation.current, C);
    assert.deepEqual(visits(rotation, 3), [C, B, C]);
  });

  test('deleting the last url of the list wraps to the first; unknown urls are refused', () => {
    const rotation = new UrlRotation([A, B]);
    rotation.advance(); // at B
    assert.equal(rotation.delete(B), true);
    assert.equal(rotation.current, A);
    assert.equal(rotation.delete(C), false);
    assert.equal(rotation.delete(A), true);
    assert.equal(rotation.current, undefined);
    assert.equal(rotation.size, 0);
    rotation.advance();
    rotation.advance();
    assert.equal(rotation.current, undefined, 'an empty list stays empty');
    assert.equal(rotation.delete(), false);
  });
});
