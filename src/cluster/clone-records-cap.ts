/**
 * The bound on the clones one server keeps (`maxClones`): records of other clones and clones
 * known by name. Gossip is taken from admitted clones only, but an admitted clone can still
 * announce records and names for made-up ids; each would cost memory, count as a clone that
 * addressed frames may come from, and (with a url) get a dialer. So a server keeps at most
 * `maxClones` other clones (`clones.clones`, and records only of those). What it holds stays
 * (nothing is evicted for something newer); past the cap it still takes in the clones it is
 * linked to directly and those added with `addClone`, which cannot be made up by a peer.
 * Refusals are counted and logged, at most one warning per {@link WARN_INTERVAL_MS}.
 * @module
 */
import type { CloneRecord } from '../protocol/frames.js';

/** Least time between two warnings about refused clones. */
export const WARN_INTERVAL_MS = 10_000;

/** What the cap reads from the clone layer. */
export interface CloneCapContext {
  /** `maxClones`. */
  readonly max: number;
  /** True for a clone kept past the cap: linked directly, or added with `addClone`. */
  preferred(id: string): boolean;
  /** Logs a warning. */
  warn(message: string, fields: Record<string, unknown>): void;
}

/** Decides whether one more clone may be kept, and counts what it refuses. */
export class CloneCap {
  /** Records and clone names refused since start. */
  refused = 0;
  private warnedAt = Number.NEGATIVE_INFINITY;
  private unwarned = 0;

  constructor(
    private readonly context: CloneCapContext,
    private readonly now: () => number = Date.now,
  ) {}

  /** `maxClones`: the most clones kept, and the longest links list of a record. */
  get max(): number {
    return this.context.max;
  }

  /** True when clone `id`, not held yet, may join `held` others; nothing is counted. */
  room(id: string, held: number): boolean {
    return held < this.context.max || this.context.preferred(id);
  }

  /**
   * True when a record of clone `id` that lists `links` may be kept: its clone is preferred, or
   * it lists at most `maxClones` links (a real clone links to at most every other one).
   */
  linksFit(id: string, links: readonly string[]): boolean {
    return links.length <= this.context.max || this.context.preferred(id);
  }

  /**
   * {@link room}, counting and logging a refusal: `what` (a record, a name) of clone `id`, as
   * sent by `from` (the peer that sent it).
   */
  admit(id: string, held: number, what: string, from?: string): boolean {
    if (this.room(id, held)) return true;
    this.refuse(id, what, from);
    return false;
  }

  /** Counts one refusal and logs a warning unless one was logged of late. */
  refuse(id: string, what: string, from?: string): void {
    this.refused++;
    this.unwarned++;
    const now = this.now();
    if (now - this.warnedAt < WARN_INTERVAL_MS) return;
    this.context.warn(
      `clone ${what} refused by maxClones (${this.context.max}): a peer announces made-up clones, or the mesh is larger than maxClones`,
      { clone: id, from, refused: this.unwarned, refusedTotal: this.refused },
    );
    this.warnedAt = now;
    this.unwarned = 0;
  }
}

/** The clones a server knows (`clones.clones`), as the gossip reads them. */
export interface NamedClones {
  has(id: string): boolean;
  readonly size: number;
}

/**
 * What the gossip takes in of one frame under `maxClones`: names and records of clones it
 * knows (a record, a name, or admitted earlier in the frame) always; of another clone only
 * while there is room, counting the clones the frame admitted before (`named` gets them only
 * from the actions, after the frame).
 */
export class GossipAdmission {
  private readonly admitted = new Set<string>();

  constructor(
    private readonly cap: CloneCap,
    private readonly named: NamedClones,
    /** The record held of a clone, if any. */
    private readonly stored: (id: string) => unknown,
  ) {}

  /** A new frame: what the last one admitted is in `named` now. */
  reset(): void {
    this.admitted.clear();
  }

  /** True when a record of clone `id`, were it sent, could be kept (nothing is counted). */
  room(id: string): boolean {
    return this.known(id) || this.cap.room(id, this.named.size + this.admitted.size);
  }

  /** True when a clone named in CLONE_SYNC may be learned; a refusal is counted. */
  name(id: string, from: string): boolean {
    if (this.known(id)) return true;
    if (!this.cap.admit(id, this.named.size + this.admitted.size, 'name', from)) return false;
    this.admitted.add(id);
    return true;
  }

  /**
   * True when `record` may be kept: its links list fits, and its clone is known or fits
   * beside the others. A tombstone of a clone not known is not kept (there is nothing to
   * forget). A refusal is counted once per record (on its first page when paged).
   */
  record(record: CloneRecord, from: string): boolean {
    const { cap } = this;
    const counted = record.page === undefined || record.page[0] === 0;
    if (!cap.linksFit(record.id, record.links)) {
      if (counted) cap.refuse(record.id, 'record listing more links than maxClones', from);
      return false;
    }
    if (this.known(record.id)) return true;
    if (record.gone === true) return false;
    const held = this.named.size + this.admitted.size;
    const room = counted ? cap.admit(record.id, held, 'record', from) : cap.room(record.id, held);
    if (room) this.admitted.add(record.id);
    return room;
  }

  private known(id: string): boolean {
    return this.stored(id) !== undefined || this.named.has(id) || this.admitted.has(id);
  }
}
