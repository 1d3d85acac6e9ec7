import assert from 'node:assert/strict';
import { describe, mock, test, type TestContext } from 'node:test';
import { DeadlineEntry, DeadlineQueue } from './deadline-queue.js';

// Entries expired by the same timer wake-up share a batch number (the queue calls every due
// entry synchronously, so a microtask marks the end of a batch).
let batch = 0;
let batchEnding = false;
function currentBatch(): number {
  if (!batchEnding) {
    batchEnding = true;
    queueMicrotask(() => {
      batch++;
      batchEnding = false;
    });
  }
  return batch;
}

/** Records when (and how often) it expired. */
class Probe extends DeadlineEntry {
  expiredAt: number[] = [];
  batches: number[] = [];
  constructor(
    readonly name: string,
    private readonly log: string[],
    private readonly onExpire?: () => void,
  ) {
    super();
  }
  override expire(): void {
    this.expiredAt.push(Date.now());
    this.batches.push(currentBatch());
    this.log.push(this.name);
    this.onExpire?.();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Virtual time for `setTimeout` and `Date` (the queue's clock): `advance(ms)` moves it one
 * millisecond at a time, letting microtasks run between steps so wake-ups stay apart. A
 * "never expires" check then means "not within this much time", with no real waiting.
 */
function virtualClock(t: TestContext): (ms: number) => Promise<void> {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000_000 });
  return async (ms: number) => {
    for (let step = 0; step < ms; step++) {
      t.mock.timers.tick(1);
      await Promise.resolve();
    }
  };
}

async function until(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error('condition not met in time');
    await sleep(2);
  }
}

/** Lane of a probe: the part of its name before the first `-` or `:`. */
function laneOf(probe: Probe): string {
  return probe.name.split(/[-:]/)[0] ?? '';
}

/**
 * The ordering contract: FIFO among entries of one duration (lane), and an entry never expires
 * in a later wake-up than an entry with a later deadline. Entries due in the same wake-up
 * (e.g. after the event loop stalled) are all late and may come in any lane order.
 * `probes` must be in the order they were added.
 */
function assertDeadlineOrder(probes: Probe[], log: string[]): void {
  const position = new Map(log.map((name, index) => [name, index]));
  const lastInLane = new Map<string, number>();
  for (const probe of probes) {
    const at = position.get(probe.name) ?? -1;
    assert.ok(at > (lastInLane.get(laneOf(probe)) ?? -1), `${probe.name} broke FIFO in its lane`);
    lastInLane.set(laneOf(probe), at);
  }
  const byDeadline = [...probes].sort((a, b) => a.deadline - b.deadline);
  let maxBatchBefore = -1;
  let index = 0;
  while (index < byDeadline.length) {
    const deadline = byDeadline[index]?.deadline;
    let maxBatchHere = -1;
    for (; index < byDeadline.length && byDeadline[index]?.deadline === deadline; index++) {
      const probe = byDeadline[index];
      const probeBatch = probe?.batches[0] ?? -1;
      assert.ok(probeBatch >= maxBatchBefore, `${probe?.name} expired after a later deadline`);
      maxBatchHere = Math.max(maxBatchHere, probeBatch);
    }
    maxBatchBefore = Math.max(maxBatchBefore, maxBatchHere);
  }
}

describe('DeadlineQueue', () => {
  test('an entry expires once, at its deadline', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const entry = new Probe('a', log);
    const started = Date.now();
    queue.add(entry, 40);
    assert.equal(entry.scheduled, true);
    assert.equal(queue.size, 1);
    assert.equal(entry.deadline, started + 40);
    await advance(39);
    assert.deepEqual(log, [], 'expired before its deadline');
    await advance(1);
    assert.deepEqual(entry.expiredAt, [started + 40]);
    assert.equal(entry.scheduled, false);
    assert.equal(queue.size, 0);
    await advance(200);
    assert.deepEqual(log, ['a']);
    queue.remove(entry); // after expiry: a no-op
    assert.equal(queue.size, 0);
  });

  test('same duration: FIFO order; different durations: deadline order', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const probes = [
      new Probe('slow-1', log),
      new Probe('fast-1', log),
      new Probe('slow-2', log),
      new Probe('mid', log),
      new Probe('fast-2', log),
      new Probe('zero', log),
    ];
    const durations = [160, 40, 160, 100, 40, 0];
    probes.forEach((probe, index) => queue.add(probe, durations[index] ?? 0));
    await advance(160);
    assert.deepEqual(log, ['zero', 'fast-1', 'fast-2', 'mid', 'slow-1', 'slow-2']);
    assertDeadlineOrder(probes, log);
    assert.equal(
      new Set(probes.map((probe) => probe.batches[0])).size,
      4,
      'one wake-up per deadline',
    );
  });

  test('remove: head, middle and tail of a lane; removed entries never expire', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const entries = ['e0', 'e1', 'e2', 'e3', 'e4'].map((name) => new Probe(name, log));
    for (const entry of entries) queue.add(entry, 30);
    const [e0, e1, e2, e3, e4] = entries;
    assert.ok(e0 && e1 && e2 && e3 && e4);
    queue.remove(e0);
    queue.remove(e2);
    queue.remove(e4);
    queue.remove(e4); // twice: no-op
    assert.equal(queue.size, 2);
    assert.equal(e2.scheduled, false);
    await advance(1000);
    assert.deepEqual(log, ['e1', 'e3']);
    assert.equal(queue.size, 0);
  });

  test('removing every entry leaves a harmless spare wake-up', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const entry = new Probe('x', log);
    queue.add(entry, 10);
    queue.remove(entry);
    await advance(100);
    assert.deepEqual(log, []);
    assert.equal(queue.size, 0);
    // The queue still works afterwards.
    queue.add(entry, 5);
    await advance(5);
    assert.deepEqual(log, ['x']);
  });

  test('re-adding an entry moves it instead of duplicating it', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const a = new Probe('a', log);
    const b = new Probe('b', log);
    const started = Date.now();
    queue.add(a, 20);
    queue.add(b, 40);
    queue.add(a, 70); // postpone a: now after b
    assert.equal(queue.size, 2);
    await advance(1000);
    assert.deepEqual(log, ['b', 'a']);
    assert.deepEqual(a.expiredAt, [started + 70]);
  });

  test('an entry can be re-added after it expired, and from its own expire()', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    let rounds = 0;
    const entry: Probe = new Probe('tick', log, () => {
      rounds++;
      if (rounds < 3) queue.add(entry, 5);
    });
    const started = Date.now();
    queue.add(entry, 5);
    await advance(1000);
    assert.deepEqual(log, ['tick', 'tick', 'tick']);
    assert.deepEqual(entry.expiredAt, [started + 5, started + 10, started + 15]);
    assert.equal(queue.size, 0);
  });

  test('a throwing expire() does not stop the others', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    queue.add(
      new Probe('thrower', log, () => {
        throw new Error('boom');
      }),
      10,
    );
    queue.add(new Probe('after', log), 10);
    queue.add(new Probe('later', log), 30);
    await advance(30);
    assert.deepEqual(log, ['thrower', 'after', 'later']);
  });

  test('many lanes: every entry expires exactly once, at its deadline, in deadline order', async (t) => {
    const advance = virtualClock(t);
    const queue = new DeadlineQueue();
    const log: string[] = [];
    const probes: Probe[] = [];
    // 40 lanes, 25 entries each, added in a scrambled lane order.
    for (let round = 0; round < 25; round++) {
      for (let lane = 0; lane < 40; lane++) {
        const duration = 10 + ((lane * 7) % 40) * 2;
        const probe = new Probe(`${duration}:${round}`, log);
        probes.push(probe);
        queue.add(probe, duration);
      }
    }
    assert.equal(queue.size, 1000);
    await advance(1000);
    assert.equal(log.length, 1000);
    for (const probe of probes) assert.deepEqual(probe.expiredAt, [probe.deadline], probe.name);
    assertDeadlineOrder(probes, log);
    assert.equal(queue.size, 0);
  });

  test('a single timer: at most one armed at a time, not one per entry', async (t) => {
    const realSetTimeout = globalThis.setTimeout;
    const realClearTimeout = globalThis.clearTimeout;
    const queue = new DeadlineQueue();
    let queueCallback: unknown;
    let capturing = false;
    const live = new Set<unknown>();
    let armed = 0;
    let maxLive = 0;
    const setTimeoutMock = mock.method(
      globalThis,
      'setTimeout',
      (callback: () => void, ms?: number): ReturnType<typeof setTimeout> => {
        if (capturing && queueCallback === undefined) queueCallback = callback;
        if (callback !== queueCallback) return realSetTimeout(callback, ms);
        armed++;
        const handle: ReturnType<typeof setTimeout> = realSetTimeout(() => {
          live.delete(handle);
          callback();
        }, ms);
        live.add(handle);
        maxLive = Math.max(maxLive, live.size);
        return handle;
      },
    );
    const clearTimeoutMock = mock.method(
      globalThis,
      'clearTimeout',
      (handle?: ReturnType<typeof setTimeout>): void => {
        live.delete(handle);
        realClearTimeout(handle);
      },
    );
    t.after(() => {
      setTimeoutMock.mock.restore();
      clearTimeoutMock.mock.restore();
    });
    const log: string[] = [];
    // Synchronously, every setTimeout call comes from the queue: capture its callback.
    capturing = true;
    queue.add(new Probe('first', log), 30);
    capturing = false;
    assert.equal(typeof queueCallback, 'function');
    for (let index = 0; index < 10_000; index++) queue.add(new Probe(`same-${index}`, log), 30);
    assert.equal(armed, 1, 'entries with later deadlines must not arm timers');
    // Earlier deadlines re-arm, but replace the armed timer instead of adding one.
    for (let ms = 25; ms > 0; ms -= 5) queue.add(new Probe(`earlier-${ms}`, log), ms);
    assert.equal(live.size, 1);
    await until(() => log.length === 10_006);
    assert.equal(maxLive, 1);
    assert.equal(live.size, 0, 'no timer stays armed once the queue is empty');
    assert.ok(armed < 20, `armed ${armed} times for 10006 entries`);
  });
});
