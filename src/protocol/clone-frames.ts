/**
 * The frames of clone links (PROTOCOL.md 2.8): records, digests, relayed group messages and
 * group deletions.
 * @module
 */
import type { GroupTarget } from './client-frames.js';
import type { FrameType } from './wire-codes.js';

/**
 * What a clone tells the mesh about itself. Versioned: a higher `v` replaces a lower one.
 * `groups` is the full list of groups with local subscribers; an update may instead carry
 * `add`/`del` relative to version `base`.
 */
export interface CloneRecord {
  /** Clone id. */
  id: string;
  /** Random id of the running process; changes on restart, tells duplicate ids apart. */
  instance: string;
  /** Public url, or null when the clone cannot be dialed. */
  url: string | null;
  /** Record version. */
  v: number;
  /** Ids of the clones this clone has a live link to. */
  links: string[];
  /** Full interest list (groups with subscribers on this clone). */
  groups?: string[];
  /** Interest delta: groups that gained subscribers since `base`. */
  add?: string[];
  /** Interest delta: groups that lost their last subscriber since `base`. */
  del?: string[];
  /** Version the delta applies to. */
  base?: number;
  /** True when the clone was stopped on purpose (the record is a tombstone). */
  gone?: boolean;
  /**
   * `[index, count]` when this is one page of a record too large for one frame: the pages
   * share every field but the lists, which are split across them (PROTOCOL.md 2.8).
   */
  page?: [number, number];
}

/** `[20, records, known]`: full records plus other known clones `[id, url]` without records. */
export type CloneSyncFrame = [
  typeof FrameType.CLONE_SYNC,
  CloneRecord[],
  [string, string | null][],
];
/** `[21, record]` */
export type CloneUpdateFrame = [typeof FrameType.CLONE_UPDATE, CloneRecord];
/** `[22, cloneId]` */
export type CloneRequestFrame = [typeof FrameType.CLONE_REQUEST, string];
/**
 * `[23, [[cloneId, version], ...]]`, the full digest, or `[23, [], count, hash]`, the compact
 * one: the number of entries and their hash (PROTOCOL.md 2.8).
 */
export type CloneDigestFrame = [
  typeof FrameType.CLONE_DIGEST,
  [string, number][],
  count?: number,
  hash?: string,
];
/**
 * `[24, origin, seq, dests, target, groupMessage, ackTo?]`; `groupMessage` is an encoded
 * GROUP_MESSAGE; `ackTo`, when set, is the publishing clone's id, to which every destination
 * sends CLONE_DELIVERED.
 */
export type CloneRelayFrame = [
  typeof FrameType.CLONE_RELAY,
  string,
  number,
  string[] | null,
  GroupTarget,
  Uint8Array,
  (string | null)?,
];
/** `[25, origin, seq, groupId]` */
export type CloneGroupDeleteFrame = [typeof FrameType.CLONE_GROUP_DELETE, string, number, string];
