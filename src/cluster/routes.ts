/**
 * Shortest paths through the clone mesh, from the records' link lists: breadth-first search
 * from this clone, using only its own live links for the first hop. Recomputed lazily after
 * any change.
 * @module
 */
import type { StoredRecord } from './clone-records.js';

/** Next hop towards each reachable clone. */
export class RouteTable {
  private nextHop = new Map<string, string>();
  private dirty = true;

  constructor(
    private readonly selfId: string,
    private readonly liveLinks: () => Iterable<string>,
    private readonly records: () => Iterable<StoredRecord>,
  ) {}

  /** Marks the table stale (a record or a link changed). */
  invalidate(): void {
    this.dirty = true;
  }

  /** The neighbour to send through to reach `id`, or undefined if unreachable. */
  hop(id: string): string | undefined {
    if (this.dirty) this.compute();
    return this.nextHop.get(id);
  }

  private compute(): void {
    this.dirty = false;
    const adjacency = new Map<string, Set<string>>();
    const connect = (a: string, b: string): void => {
      let set = adjacency.get(a);
      if (set === undefined) {
        set = new Set();
        adjacency.set(a, set);
      }
      set.add(b);
    };
    for (const record of this.records()) {
      if (record.gone) continue;
      for (const peer of record.links) {
        if (peer === this.selfId || record.id === this.selfId) continue;
        connect(record.id, peer);
        connect(peer, record.id);
      }
    }
    const next = new Map<string, string>();
    const queue: string[] = [];
    for (const neighbour of this.liveLinks()) {
      if (next.has(neighbour)) continue;
      next.set(neighbour, neighbour);
      queue.push(neighbour);
    }
    for (let index = 0; index < queue.length; index++) {
      const node = queue[index] as string;
      const hop = next.get(node) as string;
      for (const peer of adjacency.get(node) ?? []) {
        if (peer === this.selfId || next.has(peer)) continue;
        next.set(peer, hop);
        queue.push(peer);
      }
    }
    this.nextHop = next;
  }
}
