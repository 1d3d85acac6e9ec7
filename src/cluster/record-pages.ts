/**
 * Record pages (PROTOCOL.md 2.8): a clone record whose group lists do not fit in one frame
 * travels as several records with the same id, instance and version, each with a slice of the
 * lists and `page: [index, count]`. The receiver applies the record once it holds every page,
 * so no amount of interest makes a record unsendable, and no frame grows past the receiver's
 * `maxPayload`.
 * @module
 */
import { Buffer } from 'node:buffer';
import type { CloneRecord } from '../protocol/frames.js';
import { MAX_RECORD_PAGES } from '../protocol/validate.js';

/**
 * Largest frame a record page is cut to (the receiver's `maxPayload` if smaller): big enough
 * that a page carries hundreds of group ids, small enough that a relayed group message never
 * waits long behind a record on the same link.
 */
export const PAGE_BYTES = 64 * 1024;

/** Upper bound of the MessagePack size of a string: header (at most 5 bytes) and UTF-8. */
function stringBytes(value: string): number {
  return 5 + Buffer.byteLength(value, 'utf8');
}

function listBytes(list: readonly string[] | undefined): number {
  let bytes = 0;
  if (list !== undefined) for (const entry of list) bytes += stringBytes(entry);
  return bytes;
}

/**
 * Bytes a page costs besides its group lists: id, instance, url and links, the field names,
 * the numbers, the page field and the frame around it (with room to spare).
 */
function fixedBytes(record: CloneRecord): number {
  return (
    256 +
    stringBytes(record.id) +
    stringBytes(record.instance) +
    (record.url === null ? 1 : stringBytes(record.url)) +
    listBytes(record.links)
  );
}

/**
 * Cuts `record` into pages whose encoding stays under `maxBytes`, or returns it whole when it
 * fits. When even one group id with the fixed fields cannot fit, the record is returned whole
 * and sending it fails (the caller reports that): splitting cannot help then.
 */
export function paginate(record: CloneRecord, maxBytes: number): CloneRecord[] {
  const fixed = fixedBytes(record);
  const room = maxBytes - fixed;
  const lists = listBytes(record.groups) + listBytes(record.add) + listBytes(record.del);
  if (lists <= room) return [record];
  const slices: { groups?: string[]; add?: string[]; del?: string[] }[] = [];
  let current: { groups?: string[]; add?: string[]; del?: string[] } = {};
  let used = 0;
  const fields = record.groups !== undefined ? (['groups'] as const) : (['add', 'del'] as const);
  for (const field of fields) {
    for (const entry of record[field] ?? []) {
      const bytes = stringBytes(entry);
      if (bytes > room) return [record];
      if (used + bytes > room) {
        slices.push(current);
        current = {};
        used = 0;
      }
      (current[field] ??= []).push(entry);
      used += bytes;
    }
  }
  slices.push(current);
  if (slices.length > MAX_RECORD_PAGES) return [record];
  const { groups: _groups, add: _add, del: _del, ...rest } = record;
  return slices.map((slice, index) => {
    const page: CloneRecord = { ...rest, page: [index, slices.length] };
    // Every page of a full record has `groups`, every page of a delta `add` and `del`, so
    // each page is a valid record of its kind on its own.
    if (record.groups !== undefined) page.groups = slice.groups ?? [];
    else {
      page.add = slice.add ?? [];
      page.del = slice.del ?? [];
    }
    return page;
  });
}

/**
 * Most records one link may have in assembly at once. A sender sends the pages of a record
 * back to back, so one is the rule; past the limit the link's oldest assembly is dropped
 * (digests fetch that record again), so a peer that starts records without finishing them
 * cannot make this clone hold pages of more records than that.
 */
export const MAX_ASSEMBLIES_PER_LINK = 4;

/** Pages of one record version from one link, collected until complete. */
interface Assembly {
  id: string;
  source: string;
  /** The pages received, by index: memory grows with the pages that came, not with `count`. */
  pages: Map<number, CloneRecord>;
  /** When the last page arrived (ms), to drop an assembly whose other pages never come. */
  at: number;
}

/**
 * Collects record pages and hands out each record once all its pages are in. Pages are
 * grouped by the link they came on and by everything that identifies one cut of one record
 * (clone id, instance, version, full or delta, page count): two senders may cut the same
 * record differently, so their pages are never mixed.
 */
export class PageAssembler {
  private readonly assemblies = new Map<string, Assembly>();

  /** Records being assembled. */
  get size(): number {
    return this.assemblies.size;
  }

  /**
   * Takes one page that came from `source` (the sending clone); returns the whole record
   * (without `page`) when this was its last missing page, else undefined.
   */
  add(
    source: string,
    page: CloneRecord & { page: [number, number] },
    now: number,
  ): CloneRecord | undefined {
    const [index, count] = page.page;
    const kind = page.groups !== undefined ? 'full' : 'delta';
    const key = `${source}\0${page.id}\0${page.instance}\0${page.v}\0${kind}\0${count}`;
    let assembly = this.assemblies.get(key);
    if (assembly === undefined) {
      this.makeRoom(source);
      assembly = { id: page.id, source, pages: new Map(), at: now };
    } else this.assemblies.delete(key);
    // (Re)inserted: the map's order is the order of the last page of each assembly.
    this.assemblies.set(key, assembly);
    assembly.at = now;
    if (!assembly.pages.has(index)) assembly.pages.set(index, page);
    if (assembly.pages.size < count) return undefined;
    this.assemblies.delete(key);
    const pages: CloneRecord[] = [];
    for (let i = 0; i < count; i++) pages.push(assembly.pages.get(i) as CloneRecord);
    return merge(pages);
  }

  /** Drops the oldest assembly of `source` when it has {@link MAX_ASSEMBLIES_PER_LINK}. */
  private makeRoom(source: string): void {
    let oldest: string | undefined;
    let held = 0;
    for (const [key, assembly] of this.assemblies) {
      if (assembly.source !== source) continue;
      oldest ??= key;
      held++;
    }
    if (held >= MAX_ASSEMBLIES_PER_LINK && oldest !== undefined) this.assemblies.delete(oldest);
  }

  /** Drops every assembly of clone `id` (the clone was forgotten). */
  delete(id: string): void {
    for (const [key, assembly] of this.assemblies) {
      if (assembly.id === id) this.assemblies.delete(key);
    }
  }

  /** Drops assemblies that got no page since `before`; digests fetch those records again. */
  sweep(before: number): void {
    for (const [key, assembly] of this.assemblies) {
      if (assembly.at < before) this.assemblies.delete(key);
    }
  }
}

function merge(pages: CloneRecord[]): CloneRecord {
  const [first] = pages as [CloneRecord, ...CloneRecord[]];
  const { page: _page, groups: _groups, add: _add, del: _del, ...rest } = first;
  const whole: CloneRecord = { ...rest };
  if (first.groups !== undefined) whole.groups = pages.flatMap((page) => page.groups ?? []);
  else {
    whole.add = pages.flatMap((page) => page.add ?? []);
    whole.del = pages.flatMap((page) => page.del ?? []);
  }
  return whole;
}

/** Upper bound of the encoded size of a record (or page). */
function recordBytes(record: CloneRecord): number {
  return (
    fixedBytes(record) + listBytes(record.groups) + listBytes(record.add) + listBytes(record.del)
  );
}

/**
 * CLONE_SYNC content cut into frames of at most `maxBytes`: records (paged where needed) and
 * known clones, in order. The first frame carries what fits; a receiver handles each frame
 * like the first, so a sync may take several.
 */
export function syncParts(
  records: readonly CloneRecord[],
  known: readonly [string, string | null][],
  maxBytes: number,
): [CloneRecord[], [string, string | null][]][] {
  const frames: [CloneRecord[], [string, string | null][]][] = [];
  let pages: CloneRecord[] = [];
  let clones: [string, string | null][] = [];
  let used = 16;
  const room = (bytes: number): void => {
    if (used + bytes <= maxBytes || (pages.length === 0 && clones.length === 0)) return;
    frames.push([pages, clones]);
    pages = [];
    clones = [];
    used = 16;
  };
  for (const entry of known) {
    const bytes = 4 + stringBytes(entry[0]) + (entry[1] === null ? 1 : stringBytes(entry[1]));
    room(bytes);
    clones.push(entry);
    used += bytes;
  }
  for (const record of records) {
    for (const page of paginate(record, maxBytes)) {
      const bytes = recordBytes(page);
      room(bytes);
      pages.push(page);
      used += bytes;
    }
  }
  frames.push([pages, clones]);
  return frames;
}
