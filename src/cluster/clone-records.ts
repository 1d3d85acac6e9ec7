/**
 * What every clone knows about the mesh: one versioned record per clone (its url, its live
 * links, the groups it has subscribers for). Records spread by flooding: a clone applies a
 * record only if it is newer than the one it has, then passes it on, so the flood stops.
 * @module
 */
import type { CloneRecord } from '../protocol/frames.js';

/** A record as stored (groups as a set). */
export interface StoredRecord {
  id: string;
  instance: string;
  url: string | null;
  v: number;
  links: string[];
  groups: Set<string>;
  gone: boolean;
}

/** Outcome of applying a record. */
export type ApplyResult = 'applied' | 'stale' | 'gap';

/** The records known to one clone (its own excluded). */
export class RecordStore {
  private readonly records = new Map<string, StoredRecord>();
  /** Ids of the tombstones held (`gone` records), oldest first. */
  private readonly tombstones = new Set<string>();

  /** Number of records held. */
  get size(): number {
    return this.records.size;
  }

  /** The record of `id`. */
  get(id: string): StoredRecord | undefined {
    return this.records.get(id);
  }

  /** All records. */
  values(): IterableIterator<StoredRecord> {
    return this.records.values();
  }

  /** Drops the record of `id`. */
  delete(id: string): void {
    this.records.delete(id);
    this.tombstones.delete(id);
  }

  /**
   * Drops the oldest tombstones while more than `max` records are held. A tombstone only
   * keeps an older record of a departed clone from being taken in again (it would then be
   * forgotten once out of reach), so tombstones make room; live records never do.
   */
  trim(max: number): void {
    for (const id of this.tombstones) {
      if (this.records.size <= max) return;
      this.delete(id);
    }
  }

  /**
   * Applies a full record or a delta. A record from a new instance of a clone (it restarted)
   * replaces the old one whatever the versions.
   */
  apply(record: CloneRecord): ApplyResult {
    const result = this.update(record);
    if (result === 'applied') {
      // (Re)inserted last: the set's order is the order in which clones left.
      this.tombstones.delete(record.id);
      if (record.gone === true) this.tombstones.add(record.id);
    }
    return result;
  }

  private update(record: CloneRecord): ApplyResult {
    const known = this.records.get(record.id);
    const sameInstance = known !== undefined && known.instance === record.instance;
    if (sameInstance && record.v <= known.v) return 'stale';
    if (record.groups !== undefined) {
      this.records.set(record.id, {
        id: record.id,
        instance: record.instance,
        url: record.url,
        v: record.v,
        links: [...record.links],
        groups: new Set(record.groups),
        gone: record.gone === true,
      });
      return 'applied';
    }
    if (!sameInstance || record.base !== known.v) return 'gap';
    for (const group of record.add ?? []) known.groups.add(group);
    for (const group of record.del ?? []) known.groups.delete(group);
    known.url = record.url;
    known.v = record.v;
    known.links = [...record.links];
    known.gone = record.gone === true;
    return 'applied';
  }

  /** The full form of a stored record, for sending. */
  static toFull(record: StoredRecord): CloneRecord {
    const full: CloneRecord = {
      id: record.id,
      instance: record.instance,
      url: record.url,
      v: record.v,
      links: record.links,
      groups: [...record.groups],
    };
    if (record.gone) full.gone = true;
    return full;
  }

  /** `[id, version]` of every record. */
  digest(): [string, number][] {
    return [...this.records.values()].map((record) => [record.id, record.v]);
  }
}
