import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { SeenWindow } from './seen-window.js';

const WINDOW = 8192;

/** What SeenWindow must answer: seen before, or too old to tell (older than the window). */
class Model {
  private readonly seen = new Map<string, { max: number; seqs: Set<number> }>();

  check(origin: string, seq: number): boolean {
    const entry = this.seen.get(origin);
    if (entry === undefined) {
      this.seen.set(origin, { max: seq, seqs: new Set([seq]) });
      return false;
    }
    if (seq <= entry.max - WINDOW) return true;
    if (entry.seqs.has(seq)) return true;
    entry.seqs.add(seq);
    entry.max = Math.max(entry.max, seq);
    return false;
  }
}

describe('SeenWindow', () => {
  test('the first sighting of a sequence number is new, the second a duplicate', () => {
    const window = new SeenWindow();
    assert.equal(window.check('a', 1, 0), false);
    assert.equal(window.check('a', 1, 0), true);
    assert.equal(window.check('a', 2, 0), false);
    assert.equal(window.check('b', 1, 0), false, 'origins are independent');
    assert.equal(window.size, 2);
  });

  test('out of order within the window is accepted once; older than the window counts as seen', () => {
    const window = new SeenWindow();
    window.check('a', 10_000, 0);
    assert.equal(window.check('a', 9_000, 0), false);
    assert.equal(window.check('a', 9_000, 0), true);
    assert.equal(window.check('a', 10_000 - WINDOW, 0), true, 'too old to tell');
    assert.equal(window.check('a', 10_000 - WINDOW + 1, 0), false);
  });

  test('sliding forward forgets the slots it passes over, even by a whole window at once', () => {
    const window = new SeenWindow();
    window.check('a', 5, 0);
    // seq 5 + WINDOW reuses the slot of 5: it must not be taken for a duplicate.
    assert.equal(window.check('a', 5 + WINDOW, 0), false);
    assert.equal(window.check('a', 5 + 3 * WINDOW, 0), false);
    assert.equal(window.check('a', 5 + 3 * WINDOW - 1, 0), false);
  });

  test('a slot passed over by a small step is free again for the number that reuses it', () => {
    const window = new SeenWindow();
    window.check('a', 5, 0);
    window.check('a', WINDOW + 4, 0); // 5 is still inside the window
    assert.equal(window.check('a', 5, 0), true);
    window.check('a', WINDOW + 6, 0); // slides over WINDOW + 5, which reuses the slot of 5
    assert.equal(window.check('a', WINDOW + 5, 0), false);
  });

  test('a jump of more than a window leaves no stale slot behind', () => {
    const window = new SeenWindow();
    window.check('a', 5, 0);
    window.check('a', 6, 0);
    window.check('a', 5 + 2 * WINDOW, 0);
    assert.equal(window.check('a', 6 + WINDOW, 0), false);
  });

  test('sweep forgets origins not heard from since a time, and only those', () => {
    const window = new SeenWindow();
    window.check('old', 1, 100);
    window.check('new', 1, 200);
    window.sweep(150);
    assert.equal(window.size, 1);
    assert.equal(window.check('new', 1, 300), true);
    assert.equal(window.check('old', 1, 300), false, 'forgotten: starts over');
  });

  test('agrees with a set-based model on random sequences', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(
            fc.constantFrom('a', 'b'),
            // Near multiples of the window too, where slots are reused.
            fc.oneof(
              fc.integer({ min: 0, max: 40 }),
              fc
                .tuple(fc.integer({ min: 0, max: 3 }), fc.integer({ min: -20, max: 20 }))
                .map(([k, offset]) => Math.max(0, k * WINDOW + offset)),
              fc.integer({ min: 0, max: 3 * WINDOW }),
            ),
          ),
          { maxLength: 300 },
        ),
        (events) => {
          const window = new SeenWindow();
          const model = new Model();
          for (const [origin, seq] of events) {
            assert.equal(
              window.check(origin, seq, 0),
              model.check(origin, seq),
              `${origin} ${seq}`,
            );
          }
        },
      ),
      { numRuns: 300 },
    );
  });
});
