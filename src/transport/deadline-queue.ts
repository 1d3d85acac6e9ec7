/**
 * One timer for many deadlines. Entries with the same duration expire in the order they were
 * added, so each duration gets a FIFO lane (a doubly linked list): adding and removing are
 * O(1), and a single `setTimeout` is armed for the earliest head across lanes. No polling and
 * no timer per request.
 * @module
 */

/** Something that can expire. Subclass it and implement {@link DeadlineEntry.expire}. */
export abstract class DeadlineEntry {
  /** Epoch ms at which the entry expires. */
  deadline = 0;
  /** @internal */ laneOf: Lane | null = null;
  /** @internal */ prevInLane: DeadlineEntry | null = null;
  /** @internal */ nextInLane: DeadlineEntry | null = null;

  /** Called once when the deadline passes while the entry is still queued. */
  abstract expire(): void;

  /** True while the entry is queued. */
  get scheduled(): boolean {
    return this.laneOf !== null;
  }
}

/** @internal */
class Lane {
  head: DeadlineEntry | null = null;
  tail: DeadlineEntry | null = null;
  constructor(readonly duration: number) {}
}

/** A set of deadlines served by one timer. */
export class DeadlineQueue {
  private readonly lanes = new Map<number, Lane>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private timerAt = Infinity;
  private readonly onTimer = (): void => this.fire();

  /** Number of queued entries, for tests and stats. */
  size = 0;

  /** Queues `entry` to expire `durationMs` from now. Re-adding an entry moves it. */
  add(entry: DeadlineEntry, durationMs: number): void {
    if (entry.laneOf !== null) this.remove(entry);
    const duration = Math.max(0, Math.floor(durationMs));
    let lane = this.lanes.get(duration);
    if (lane === undefined) {
      lane = new Lane(duration);
      this.lanes.set(duration, lane);
    }
    entry.deadline = Date.now() + duration;
    entry.laneOf = lane;
    entry.prevInLane = lane.tail;
    entry.nextInLane = null;
    if (lane.tail === null) lane.head = entry;
    else lane.tail.nextInLane = entry;
    lane.tail = entry;
    this.size++;
    if (entry.deadline < this.timerAt) this.arm(entry.deadline);
  }

  /** Removes `entry` if queued. The timer is left alone: a spare wake-up is cheap. */
  remove(entry: DeadlineEntry): void {
    const lane = entry.laneOf;
    if (lane === null) return;
    const { prevInLane, nextInLane } = entry;
    if (prevInLane === null) lane.head = nextInLane;
    else prevInLane.nextInLane = nextInLane;
    if (nextInLane === null) lane.tail = prevInLane;
    else nextInLane.prevInLane = prevInLane;
    entry.laneOf = null;
    entry.prevInLane = null;
    entry.nextInLane = null;
    this.size--;
    if (lane.head === null) this.lanes.delete(lane.duration);
  }

  private arm(at: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(this.onTimer, Math.max(1, at - Date.now()));
    // Pending deadlines alone must not keep a process alive; sockets do that.
    if (typeof this.timer === 'object' && typeof this.timer.unref === 'function')
      this.timer.unref();
  }

  private fire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    const expired: DeadlineEntry[] = [];
    for (const lane of this.lanes.values()) {
      let entry = lane.head;
      while (entry !== null && entry.deadline <= now) {
        const next: DeadlineEntry | null = entry.nextInLane;
        expired.push(entry);
        this.remove(entry);
        entry = next;
      }
    }
    let earliest = Infinity;
    for (const lane of this.lanes.values()) {
      if (lane.head !== null && lane.head.deadline < earliest) earliest = lane.head.deadline;
    }
    if (earliest !== Infinity) this.arm(earliest);
    for (const entry of expired) {
      try {
        entry.expire();
      } catch {
        // An expiry callback must not stop the others; they only settle promises.
      }
    }
  }
}

/** The process-wide queue used by connections for request timeouts and handshakes. */
export const deadlines = new DeadlineQueue();
