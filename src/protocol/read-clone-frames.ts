/**
 * Readers of the frames of clone links: records, digests, relayed group messages and group
 * deletions (PROTOCOL.md 2.8).
 * @module
 */
import type { ProtocolError } from '../errors.js';
import { bad, isCount, isName, isNameList, isTarget, isUrl, type ReaderTable } from './checks.js';
import { FrameType, type CloneRecord, type FrameOf } from './frames.js';
import { readCloneRecord } from './read-bodies.js';
import { readRelayAckTo } from './read-presence-frames.js';

function readCloneSync(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_SYNC> {
  const records = items[1];
  const known = items[2];
  if (!Array.isArray(records)) throw bad('CLONE_SYNC records invalid');
  const read: CloneRecord[] = [];
  for (const value of records) {
    const record = readCloneRecord(value);
    if (record === undefined) throw bad('CLONE_SYNC records invalid');
    read.push(record);
  }
  if (!Array.isArray(known)) throw bad('CLONE_SYNC known clones invalid');
  const clones: [string, string | null][] = [];
  for (const entry of known) {
    if (!Array.isArray(entry)) throw bad('CLONE_SYNC known clones invalid');
    const [id, url]: unknown[] = entry;
    if (!isName(id) || !isUrl(url)) throw bad('CLONE_SYNC known clones invalid');
    clones.push([id, url]);
  }
  return [FrameType.CLONE_SYNC, read, clones];
}

function readCloneUpdate(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_UPDATE> {
  const record = readCloneRecord(items[1]);
  if (record === undefined) throw bad('CLONE_UPDATE record invalid');
  return [FrameType.CLONE_UPDATE, record];
}

function readCloneRequest(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_REQUEST> {
  const cloneId = items[1];
  if (!isName(cloneId)) throw bad('CLONE_REQUEST needs a clone id');
  return [FrameType.CLONE_REQUEST, cloneId];
}

function readCloneDigest(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_DIGEST> {
  const entries = items[1];
  const fail = (): ProtocolError => bad('CLONE_DIGEST entries must be [id, version]');
  if (!Array.isArray(entries)) throw fail();
  const digest: [string, number][] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry)) throw fail();
    const [id, version]: unknown[] = entry;
    if (!isName(id) || !isCount(version)) throw fail();
    digest.push([id, version]);
  }
  const count = items[2];
  const hash = items[3];
  if (count === undefined && hash === undefined) return [FrameType.CLONE_DIGEST, digest];
  if (!isCount(count) || typeof hash !== 'string' || !DIGEST_HASH.test(hash)) {
    throw bad('CLONE_DIGEST count/hash invalid');
  }
  // A compact digest: its hash stands for the entries, so a list beside it is not read.
  return [FrameType.CLONE_DIGEST, [], count, hash];
}

/** The hash of a compact digest: 16 lowercase hex digits. */
const DIGEST_HASH = /^[0-9a-f]{16}$/;

function readCloneRelay(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_RELAY> {
  const origin = items[1];
  const seq = items[2];
  const dests = items[3];
  const target = items[4];
  const bytes = items[5];
  if (!isName(origin) || !isCount(seq)) throw bad('CLONE_RELAY origin/seq invalid');
  if (!(dests === null || isNameList(dests))) throw bad('CLONE_RELAY dests invalid');
  if (!isTarget(target)) throw bad('CLONE_RELAY target invalid');
  if (!(bytes instanceof Uint8Array)) throw bad('CLONE_RELAY payload must be bytes');
  const ackTo = readRelayAckTo(items[6]);
  return ackTo === null
    ? [FrameType.CLONE_RELAY, origin, seq, dests, target, bytes]
    : [FrameType.CLONE_RELAY, origin, seq, dests, target, bytes, ackTo];
}

function readCloneGroupDelete(
  items: readonly unknown[],
): FrameOf<typeof FrameType.CLONE_GROUP_DELETE> {
  const origin = items[1];
  const seq = items[2];
  const groupId = items[3];
  if (!isName(origin) || !isCount(seq) || !isName(groupId)) {
    throw bad('CLONE_GROUP_DELETE needs origin, seq and group id');
  }
  return [FrameType.CLONE_GROUP_DELETE, origin, seq, groupId];
}

/** Frame types only clone links carry. */
export type CloneFrameType =
  | typeof FrameType.CLONE_SYNC
  | typeof FrameType.CLONE_UPDATE
  | typeof FrameType.CLONE_REQUEST
  | typeof FrameType.CLONE_DIGEST
  | typeof FrameType.CLONE_RELAY
  | typeof FrameType.CLONE_GROUP_DELETE;

/** The reader of each clone frame type. */
export const cloneReaders: ReaderTable<CloneFrameType> = {
  [FrameType.CLONE_SYNC]: readCloneSync,
  [FrameType.CLONE_UPDATE]: readCloneUpdate,
  [FrameType.CLONE_REQUEST]: readCloneRequest,
  [FrameType.CLONE_DIGEST]: readCloneDigest,
  [FrameType.CLONE_RELAY]: readCloneRelay,
  [FrameType.CLONE_GROUP_DELETE]: readCloneGroupDelete,
};
