/**
 * Readers of the presence and cluster-acknowledgement frames (PROTOCOL.md 2.11), and of the
 * optional fields they add to SUBSCRIBE, PUBLISH and CLONE_RELAY.
 * @module
 */
import { bad, isCount, isName, isPlainObject, isPositiveId, type ReaderTable } from './checks.js';
import { FrameType, type FrameOf, type PresenceEntry, type SubscribeBody } from './frames.js';

/** Most presence entries one CLONE_PRESENCE may carry. */
export const MAX_PRESENCE_ENTRIES = 100_000;

/** Reads the optional options element of SUBSCRIBE; undefined when left out. */
export function readSubscribeOptions(value: unknown, id: number): SubscribeBody | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isPlainObject(value)) throw bad('SUBSCRIBE options must be an object', id);
  const { presence, data } = value;
  if (presence !== undefined && typeof presence !== 'boolean')
    throw bad('SUBSCRIBE presence must be a boolean', id);
  const options: SubscribeBody = {};
  if (presence !== undefined) options.presence = presence;
  if (data !== undefined) options.data = data;
  return options;
}

/** Reads the optional `ack` element of PUBLISH. */
export function readPublishAck(value: unknown, id: number): 'cluster' | null {
  if (value === undefined || value === null) return null;
  if (value !== 'cluster') throw bad('PUBLISH ack must be "cluster" or null', id);
  return value;
}

/** Reads the optional `ackTo` element of CLONE_RELAY. */
export function readRelayAckTo(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (!isName(value)) throw bad('CLONE_RELAY ackTo must be a clone id or null');
  return value;
}

function readPresence(items: readonly unknown[]): FrameOf<typeof FrameType.PRESENCE> {
  const id = items[1];
  const groupId = items[2];
  const countOnly = items[3];
  if (!isPositiveId(id)) throw bad('PRESENCE id must be a positive integer');
  if (!isName(groupId)) throw bad('PRESENCE group id must be a non-empty string', id);
  if (countOnly !== undefined && typeof countOnly !== 'boolean')
    throw bad('PRESENCE countOnly must be a boolean', id);
  return [FrameType.PRESENCE, id, groupId, countOnly === true];
}

function readPresenceEvent(items: readonly unknown[]): FrameOf<typeof FrameType.PRESENCE_EVENT> {
  const [, groupId, joined, clientId, data, node] = items;
  if (!isName(groupId) || typeof joined !== 'boolean' || !isName(clientId) || !isName(node))
    throw bad('PRESENCE_EVENT needs group id, joined, client id, data and node');
  return [FrameType.PRESENCE_EVENT, groupId, joined, clientId, data ?? null, node];
}

function readCloneAck(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_ACK> {
  const [, from, to, version] = items;
  if (!isName(from) || !isName(to) || !isCount(version))
    throw bad('CLONE_ACK needs from, to and a version');
  return [FrameType.CLONE_ACK, from, to, version];
}

function readCloneDelivered(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_DELIVERED> {
  const [, from, to, seq, delivered] = items;
  if (!isName(from) || !isName(to) || !isCount(seq) || !isCount(delivered))
    throw bad('CLONE_DELIVERED needs from, to, seq and a count');
  return [FrameType.CLONE_DELIVERED, from, to, seq, delivered];
}

function readEntry(value: unknown): PresenceEntry | undefined {
  if (!Array.isArray(value) || value.length < 2) return undefined;
  const [key, clientId, data]: unknown[] = value;
  if (!isName(key) || !isName(clientId)) return undefined;
  return [key, clientId, data ?? null];
}

function readClonePresence(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_PRESENCE> {
  const [, from, to, groupId, reset, rawJoins, rawLeaves] = items;
  if (!isName(from) || !isName(to) || !isName(groupId) || typeof reset !== 'boolean')
    throw bad('CLONE_PRESENCE needs from, to, group id and reset');
  const fail = (): Error =>
    bad('CLONE_PRESENCE joins must be [key, clientId, data] entries, leaves keys');
  if (!Array.isArray(rawJoins) || !Array.isArray(rawLeaves)) throw fail();
  if (rawJoins.length + rawLeaves.length > MAX_PRESENCE_ENTRIES) throw fail();
  const joins: PresenceEntry[] = [];
  for (const value of rawJoins) {
    const entry = readEntry(value);
    if (entry === undefined) throw fail();
    joins.push(entry);
  }
  const leaves: string[] = [];
  for (const key of rawLeaves) {
    if (!isName(key)) throw fail();
    leaves.push(key);
  }
  return [FrameType.CLONE_PRESENCE, from, to, groupId, reset, joins, leaves];
}

function readClonePresenceFetch(
  items: readonly unknown[],
): FrameOf<typeof FrameType.CLONE_PRESENCE_FETCH> {
  const [, from, to, groupId] = items;
  if (!isName(from) || !isName(to) || !isName(groupId))
    throw bad('CLONE_PRESENCE_FETCH needs from, to and a group id');
  return [FrameType.CLONE_PRESENCE_FETCH, from, to, groupId];
}

/** Frame types of presence and cluster acknowledgements. */
export type PresenceFrameType =
  | typeof FrameType.PRESENCE
  | typeof FrameType.PRESENCE_EVENT
  | typeof FrameType.CLONE_ACK
  | typeof FrameType.CLONE_DELIVERED
  | typeof FrameType.CLONE_PRESENCE
  | typeof FrameType.CLONE_PRESENCE_FETCH;

/** The reader of each presence frame type. */
export const presenceReaders: ReaderTable<PresenceFrameType> = {
  [FrameType.PRESENCE]: readPresence,
  [FrameType.PRESENCE_EVENT]: readPresenceEvent,
  [FrameType.CLONE_ACK]: readCloneAck,
  [FrameType.CLONE_DELIVERED]: readCloneDelivered,
  [FrameType.CLONE_PRESENCE]: readClonePresence,
  [FrameType.CLONE_PRESENCE_FETCH]: readClonePresenceFetch,
};
