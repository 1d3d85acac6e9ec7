/**
 * Acknowledgements across the mesh.
 *
 * Interest: a clone that applies another clone's record answers CLONE_ACK with the version
 * it now holds. A subscription that gave this clone a new group waits until every clone it
 * can reach holds a record version that lists the group: from then on a message published
 * anywhere is relayed here (the publisher reads its copy of this clone's record).
 *
 * Publishes: a relay that asks for acknowledgement names its publisher; every destination
 * answers CLONE_DELIVERED with its delivery count, and the publisher resolves once all did.
 * @module
 */
import type { ClusterDeliveries } from '../groups/group-manager.js';
import { FrameType } from '../protocol/frames.js';
import type { AddressedFrames } from './addressed.js';

/** What the acknowledgements read from the clone manager. */
export interface AckContext {
  readonly selfId: string;
  readonly frames: AddressedFrames;
  /** How long a subscription waits for the other clones, in ms. */
  readonly timeout: number;
  /** Clones a subscription waits for: live links and reachable clones with a live record. */
  expected(): Iterable<string>;
  /** Version of this clone's record. */
  ownVersion(): number;
  /** True when an interest change waits for the next record version. */
  interestPending(): boolean;
}

interface InterestWaiter {
  readonly version: number;
  readonly promise: Promise<string[]>;
  resolve(missing: string[]): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Which version of this clone's record each clone holds, and who waits for it. */
export class InterestAcks {
  private readonly acked = new Map<string, number>();
  private readonly waiters = new Map<number, InterestWaiter>();

  constructor(private readonly context: AckContext) {}

  /** Clone `from` holds this clone's record at `version` or later. */
  ack(from: string, version: number): void {
    if ((this.acked.get(from) ?? -1) >= version) return;
    this.acked.set(from, version);
    this.check();
  }

  /** Clone `id` restarted or went away: its acknowledgements no longer hold. */
  forget(id: string): void {
    this.acked.delete(id);
  }

  /**
   * Resolves once every reachable clone holds the record version that announces this
   * clone's current interest, or after the timeout with the clones that did not confirm.
   */
  confirm(): Promise<string[]> {
    const { context } = this;
    const version = context.ownVersion() + (context.interestPending() ? 1 : 0);
    if (this.missing(version).length === 0) return Promise.resolve([]);
    let waiter = this.waiters.get(version);
    if (waiter === undefined) {
      let resolve!: (missing: string[]) => void;
      const promise = new Promise<string[]>((done) => (resolve = done));
      const created: InterestWaiter = { version, promise, resolve, timer: undefined };
      created.timer = setTimeout(
        () => this.finish(created, this.missing(version)),
        context.timeout,
      );
      created.timer.unref?.();
      this.waiters.set(version, created);
      waiter = created;
    }
    return waiter.promise;
  }

  /** Re-evaluates every waiter (an acknowledgement came, or a clone became unreachable). */
  check(): void {
    for (const waiter of this.waiters.values()) {
      if (this.missing(waiter.version).length === 0) this.finish(waiter, []);
    }
  }

  /** Releases every waiter (the server stops). */
  stop(): void {
    for (const waiter of this.waiters.values()) this.finish(waiter, []);
    this.acked.clear();
  }

  private missing(version: number): string[] {
    const missing: string[] = [];
    for (const id of this.context.expected())
      if ((this.acked.get(id) ?? -1) < version) missing.push(id);
    return missing;
  }

  private finish(waiter: InterestWaiter, missing: string[]): void {
    if (this.waiters.get(waiter.version) !== waiter) return;
    this.waiters.delete(waiter.version);
    if (waiter.timer !== undefined) clearTimeout(waiter.timer);
    waiter.resolve(missing);
  }
}

interface PendingPublish {
  readonly waiting: Set<string>;
  readonly nodes: Record<string, number>;
  resolve(result: ClusterDeliveries): void;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** Acknowledged publishes of this clone waiting for their destinations. */
export class PublishAcks {
  private readonly pending = new Map<number, PendingPublish>();

  constructor(private readonly frames: AddressedFrames) {}

  /** Number of publishes waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** Waits for the deliveries of relay `seq`, sent to `dests`. */
  wait(seq: number, dests: readonly string[], timeout: number): Promise<ClusterDeliveries> {
    if (dests.length === 0) return Promise.resolve({ nodes: {}, missing: [] });
    return new Promise((resolve) => {
      const entry: PendingPublish = {
        waiting: new Set(dests),
        nodes: {},
        resolve,
        timer: undefined,
      };
      entry.timer = setTimeout(() => this.finish(seq, entry), timeout);
      entry.timer.unref?.();
      this.pending.set(seq, entry);
    });
  }

  /** Clone `from` delivered relay `seq` to `count` subscribers. */
  delivered(from: string, seq: number, count: number): void {
    const entry = this.pending.get(seq);
    if (entry === undefined || !entry.waiting.delete(from)) return;
    entry.nodes[from] = count;
    this.settle(seq, entry);
  }

  /** Destinations that can no longer be reached will not answer: their publishes end now. */
  check(): void {
    for (const [seq, entry] of this.pending) this.settle(seq, entry);
  }

  /** Ends a publish once no destination that can still answer is left. */
  private settle(seq: number, entry: PendingPublish): void {
    for (const id of entry.waiting) if (this.frames.reachable(id)) return;
    this.finish(seq, entry);
  }

  /** Ends every publish with what it has (the server stops). */
  stop(): void {
    for (const [seq, entry] of this.pending) this.finish(seq, entry);
  }

  private finish(seq: number, entry: PendingPublish): void {
    if (this.pending.get(seq) !== entry) return;
    this.pending.delete(seq);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    entry.resolve({ nodes: entry.nodes, missing: [...entry.waiting] });
  }
}

/** The CLONE_ACK a clone sends after applying `owner`'s record at `version`. */
export function ackFrame(selfId: string, owner: string, version: number) {
  return [FrameType.CLONE_ACK, selfId, owner, version] as [
    typeof FrameType.CLONE_ACK,
    string,
    string,
    number,
  ];
}
