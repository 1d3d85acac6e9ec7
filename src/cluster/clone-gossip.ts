/**
 * Membership gossip of the clone mesh, as pure logic: it holds the records of every clone,
 * takes the frames of the clone membership protocol and link events, and returns what to do
 * (frames to send to whom, clones learned or gone). No sockets and no timers, so every rule
 * can be tested by feeding frames.
 *
 * Every clone floods a versioned record of itself (url, live links, groups with subscribers).
 * A clone applies a record only if it is newer and passes it on, so news spreads in a few
 * round trips instead of on a timer; every `cloneInterval` each link also exchanges a digest
 * of record versions, which repairs anything a push missed. The digest goes as a count and a
 * hash, the full list only to a peer whose hash differs, so an idle mesh's gossip per clone
 * grows with its links, not with links times clones. Records too large for one frame
 * travel in pages (record-pages.ts).
 * @module
 */
import {
  FrameType,
  type CloneDigestFrame,
  type CloneRecord,
  type CloneRequestFrame,
  type CloneSyncFrame,
  type CloneUpdateFrame,
} from '../protocol/frames.js';
import type { Interest } from './clone-groups.js';
import { GossipAdmission, type CloneCap, type NamedClones } from './clone-records-cap.js';
import { RecordStore, type StoredRecord } from './clone-records.js';
import { digestHash } from './digest-summary.js';
import { PAGE_BYTES, PageAssembler, paginate, syncParts } from './record-pages.js';

/** The frames of the membership protocol. */
export type GossipFrame = CloneSyncFrame | CloneUpdateFrame | CloneRequestFrame | CloneDigestFrame;

/** Something the clone manager does for the gossip, in the order given. */
export type GossipAction =
  /** Send `frames` on the link to `to`, in order; the rest are dropped once one is not sent. */
  | { type: 'send'; to: string; frames: GossipFrame[] }
  /** A clone exists, at `url` when not null; `from` is the peer that said so. */
  | { type: 'learn'; id: string; url: string | null; from: string }
  /** A clone announced that it stopped. */
  | { type: 'gone'; id: string }
  /** Another process uses this server's id. */
  | { type: 'duplicate'; id: string; why: string }
  /** A record changed: routes are stale and the dial policy may dial someone new. */
  | { type: 'changed' }
  /**
   * Clone `id`'s record was applied at version `v` (acknowledged to it, docs/groups.md):
   * `groups` are the groups it gained (all of them for a full record); `renewed` when the
   * record is of a new process of that id.
   */
  | { type: 'applied'; id: string; v: number; groups: readonly string[]; renewed: boolean };

/** What the gossip reads from the clone manager. */
export interface GossipContext {
  readonly selfId: string;
  readonly instance: string;
  /** This server's url, null when it cannot be dialed. */
  readonly url: string | null;
  /** Groups with local subscribers. */
  readonly interest: Interest;
  /** Peers with a live link, in the order the links came up. */
  links(): Iterable<string>;
  /** Largest frame `peer` accepts. */
  maxPayload(peer: string): number;
  /** True when `deleteClone` removed the clone: nothing said about it is taken in. */
  isForgotten(id: string): boolean;
  /** The `maxClones` bound on the clones kept (clone-records-cap.ts). */
  readonly cap: CloneCap;
  /**
   * The clones this server knows (`clones.clones`, bounded by `maxClones`): a record of one
   * of them is taken in; of another clone only while there is room for one more.
   */
  readonly named: NamedClones;
}

/** Interest changes up to this size always go as a delta, even when the full list is shorter. */
const MAX_DELTA = 256;

/** The records this server knows and its own record's version. */
export class CloneGossip {
  private readonly records = new RecordStore();
  private readonly pages = new PageAssembler();
  private ownVersion = 0;
  private linksChanged = false;
  private readonly admission: GossipAdmission;

  constructor(private readonly context: GossipContext) {
    this.admission = new GossipAdmission(context.cap, context.named, (id) => this.records.get(id));
  }

  /** Version of this server's own record. */
  get version(): number {
    return this.ownVersion;
  }

  /** True when this server's record changed since it was last sent. */
  get dirty(): boolean {
    return this.linksChanged || this.context.interest.pending > 0;
  }

  /** The records of other clones. */
  known(): IterableIterator<StoredRecord> {
    return this.records.values();
  }

  /** Number of records of other clones held. */
  get size(): number {
    return this.records.size;
  }

  /** The record of clone `id`. */
  record(id: string): StoredRecord | undefined {
    return this.records.get(id);
  }

  /** This server's own record, complete. */
  ownRecord(): CloneRecord {
    const { context } = this;
    return {
      id: context.selfId,
      instance: context.instance,
      url: context.url,
      v: this.ownVersion,
      links: [...context.links()],
      groups: [...context.interest.groups],
    };
  }

  /**
   * The mesh as the records tell it: every live clone with its links and the groups it has
   * subscribers for, this clone first.
   */
  topology(): { id: string; url: string | null; links: string[]; groups: string[] }[] {
    const own = this.ownRecord();
    const result = [{ id: own.id, url: own.url, links: own.links, groups: own.groups ?? [] }];
    for (const record of this.records.values()) {
      if (record.gone || this.context.isForgotten(record.id)) continue;
      const { id, url, links, groups } = record;
      result.push({ id, url, links: [...links], groups: [...groups] });
    }
    return result;
  }

  /** Drops what is known of clone `id` (deleted or forgotten). */
  forget(id: string): void {
    this.records.delete(id);
    this.pages.delete(id);
  }

  /** Drops record pages that got no company since `before` (ms); digests fetch them again. */
  sweep(before: number): void {
    this.pages.sweep(before);
  }

  /**
   * A link to `peer` came up: it gets every record but its own, this server's record, and
   * `known` (other clones `[id, url]`, records or not), in as many CLONE_SYNC frames as needed.
   */
  linkUp(peer: string, known: [string, string | null][]): GossipAction[] {
    const records = [...this.records.values()].filter((record) => record.id !== peer);
    const full = [...records.map((record) => RecordStore.toFull(record)), this.ownRecord()];
    const actions: GossipAction[] = [];
    for (const [part, others] of syncParts(full, known, this.pageBytes(peer))) {
      actions.push({ type: 'send', to: peer, frames: [[FrameType.CLONE_SYNC, part, others]] });
    }
    // The new link is announced with the next change of interest or at the next tick: it only
    // offers shorter paths, so others lose nothing by learning it a little later, and a clone
    // that opens 31 links while a mesh forms announces one or two versions instead of 31,
    // each of which every other clone would pass on.
    this.linksChanged = true;
    return actions;
  }

  /**
   * A clone added here, for every link: peers can dial it at once instead of waiting for its
   * record (it may have none yet, when it has not linked to anyone).
   */
  introduce(id: string, url: string): GossipAction[] {
    return [...this.context.links()].map((peer) => ({
      type: 'send',
      to: peer,
      frames: [[FrameType.CLONE_SYNC, [], [[id, url]]]],
    }));
  }

  /** A link went down: paths through it are gone, so the next flush announces it. */
  linkDown(): void {
    this.linksChanged = true;
  }

  /**
   * This server's record changes (links, interest) as one update for every link: a delta of
   * the interest when that is small, the full record otherwise. Empty when nothing changed.
   */
  flush(): GossipAction[] {
    if (!this.dirty) return [];
    const { context } = this;
    const base = this.ownVersion;
    this.ownVersion++;
    let update: CloneRecord;
    if (context.interest.pending <= Math.max(MAX_DELTA, context.interest.groups.size)) {
      const { add, del } = context.interest.takeDelta();
      update = {
        id: context.selfId,
        instance: context.instance,
        url: context.url,
        v: this.ownVersion,
        links: [...context.links()],
        add,
        del,
        base,
      };
    } else {
      context.interest.takeDelta();
      update = this.ownRecord();
    }
    this.linksChanged = false;
    return [...context.links()].map((peer) => this.sendRecord(peer, update));
  }

  /**
   * The periodic exchange: pending link changes, then a compact digest (count and hash of the
   * versions) to every link; a peer whose versions differ answers with its full digest.
   */
  tick(): GossipAction[] {
    const actions = this.linksChanged ? this.flush() : [];
    const digest = this.digest();
    const frame: CloneDigestFrame = [FrameType.CLONE_DIGEST, [], digest.length, digestHash(digest)];
    for (const peer of this.context.links()) {
      actions.push({ type: 'send', to: peer, frames: [frame] });
    }
    return actions;
  }

  /** Every `[cloneId, version]` this server knows, its own first. */
  private digest(): [string, number][] {
    return [[this.context.selfId, this.ownVersion], ...this.records.digest()];
  }

  /** This server stops: a tombstone record for every link, so the mesh stops dialing it. */
  leave(): GossipAction[] {
    this.ownVersion++;
    const farewell: CloneRecord = { ...this.ownRecord(), links: [], groups: [], gone: true };
    return [...this.context.links()].map((peer) => ({
      type: 'send',
      to: peer,
      frames: [[FrameType.CLONE_UPDATE, farewell]],
    }));
  }

  /** A membership frame from `peer`. */
  receive(peer: string, frame: GossipFrame): GossipAction[] {
    const actions: GossipAction[] = [];
    this.admission.reset();
    switch (frame[0]) {
      case FrameType.CLONE_SYNC:
        for (const [id, url] of frame[2]) {
          if (id === this.context.selfId || this.context.isForgotten(id)) continue;
          if (this.admission.name(id, peer)) actions.push({ type: 'learn', id, url, from: peer });
        }
        for (const record of frame[1]) this.apply(record, peer, actions);
        break;
      case FrameType.CLONE_UPDATE:
        this.apply(frame[1], peer, actions);
        break;
      case FrameType.CLONE_REQUEST: {
        const id = frame[1];
        const record = this.records.get(id);
        if (id === this.context.selfId) actions.push(this.sendRecord(peer, this.ownRecord()));
        else if (record !== undefined) {
          actions.push(this.sendRecord(peer, RecordStore.toFull(record)));
        }
        break;
      }
      case FrameType.CLONE_DIGEST: {
        const [, entries, count, hash] = frame;
        if (hash === undefined) this.compareDigest(peer, entries, actions);
        else {
          // Compact: in sync when count and hash match; else the peer gets the full list and
          // repairs both ways with it (a full digest is never answered with a digest).
          const digest = this.digest();
          if (count !== digest.length || hash !== digestHash(digest)) {
            actions.push({ type: 'send', to: peer, frames: [[FrameType.CLONE_DIGEST, digest]] });
          }
        }
        break;
      }
    }
    return actions;
  }

  private apply(received: CloneRecord, from: string, actions: GossipAction[]): void {
    let record = received;
    const { context } = this;
    if (record.id === context.selfId) {
      if (record.instance !== context.instance && record.gone !== true) {
        actions.push({
          type: 'duplicate',
          id: record.id,
          why: "another server announces this server's own id",
        });
      }
      return;
    }
    if (context.isForgotten(record.id) || !this.admission.record(record, from)) return;
    if (record.page !== undefined) {
      const known = this.records.get(record.id);
      if (known !== undefined && known.instance === record.instance && record.v <= known.v) return;
      const whole = this.pages.add(
        from,
        record as CloneRecord & { page: [number, number] },
        Date.now(),
      );
      if (whole === undefined) return;
      record = whole;
    }
    const previous = this.records.get(record.id)?.instance;
    const result = this.records.apply(record);
    if (result === 'gap') {
      actions.push({ type: 'send', to: from, frames: [[FrameType.CLONE_REQUEST, record.id]] });
      return;
    }
    if (result === 'stale') return;
    this.records.trim(context.cap.max);
    if (record.gone === true) actions.push({ type: 'gone', id: record.id });
    else actions.push({ type: 'learn', id: record.id, url: record.url, from });
    actions.push({
      type: 'applied',
      id: record.id,
      v: record.v,
      groups: record.groups ?? record.add ?? [],
      renewed: previous !== undefined && previous !== record.instance,
    });
    // Pass it on, except to the clone it describes and to clones that clone is linked to:
    // those got it first-hand. In a full mesh nothing is forwarded, so an update costs O(N)
    // frames instead of O(N^2); digests repair what a stale links list misses.
    const firstHand = new Set(record.links);
    for (const peer of context.links()) {
      if (peer === from || peer === record.id || firstHand.has(peer)) continue;
      // Nor to a clone whose own record says it is linked to the clone described.
      if (this.records.get(peer)?.links.includes(record.id) === true) continue;
      actions.push(this.sendRecord(peer, record));
    }
    actions.push({ type: 'changed' });
  }

  private compareDigest(peer: string, entries: [string, number][], actions: GossipAction[]): void {
    const { selfId } = this.context;
    const theirs = new Map(entries);
    for (const [id, version] of entries) {
      if (id === selfId || this.context.isForgotten(id)) continue;
      const mine = this.records.get(id);
      // No record asked for that could not be kept.
      if (mine === undefined && !this.admission.room(id)) continue;
      if (mine === undefined || mine.v < version) {
        actions.push({ type: 'send', to: peer, frames: [[FrameType.CLONE_REQUEST, id]] });
      }
    }
    if ((theirs.get(selfId) ?? -1) < this.ownVersion) {
      actions.push(this.sendRecord(peer, this.ownRecord()));
    }
    const peerRecord = this.records.get(peer);
    for (const record of this.records.values()) {
      if (record.id === peer || (theirs.get(record.id) ?? -1) >= record.v) continue;
      // A peer linked to that clone gets its record first-hand (the update may be in flight).
      if (record.links.includes(peer) || peerRecord?.links.includes(record.id) === true) continue;
      actions.push(this.sendRecord(peer, RecordStore.toFull(record)));
    }
  }

  /** Largest frame a record page is cut to for `peer`. */
  private pageBytes(peer: string): number {
    return Math.min(PAGE_BYTES, this.context.maxPayload(peer));
  }

  /** A record as CLONE_UPDATE frames, in pages when it does not fit in one frame. */
  private sendRecord(peer: string, record: CloneRecord): GossipAction {
    const frames: GossipFrame[] = paginate(record, this.pageBytes(peer)).map((page) => [
      FrameType.CLONE_UPDATE,
      page,
    ]);
    return { type: 'send', to: peer, frames };
  }
}
