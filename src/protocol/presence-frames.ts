/**
 * The presence and cluster-acknowledgement frames (PROTOCOL.md 2.3, 2.11): presence lists
 * and events for clients, and the frames clones address to one clone.
 * @module
 */
import type { FrameType } from './wire-codes.js';

/** A member of a node's presence in one group: `[key, clientId, data]`; `key` is unique on its node. */
export type PresenceEntry = [key: string, clientId: string, data: unknown];
/** `[16, id, groupId, countOnly]` */
export type PresenceFrame = [typeof FrameType.PRESENCE, number, string, boolean];
/** `[17, groupId, joined, clientId, data, node]` */
export type PresenceEventFrame = [
  typeof FrameType.PRESENCE_EVENT,
  string,
  boolean,
  string,
  unknown,
  string,
];
/** `[50, from, to, version]` */
export type CloneAckFrame = [typeof FrameType.CLONE_ACK, string, string, number];
/** `[51, from, to, seq, delivered]` */
export type CloneDeliveredFrame = [
  typeof FrameType.CLONE_DELIVERED,
  string,
  string,
  number,
  number,
];
/** `[52, from, to, groupId, reset, joins, leaves]` */
export type ClonePresenceFrame = [
  typeof FrameType.CLONE_PRESENCE,
  string,
  string,
  string,
  boolean,
  PresenceEntry[],
  string[],
];
/** `[53, from, to, groupId]` */
export type ClonePresenceFetchFrame = [
  typeof FrameType.CLONE_PRESENCE_FETCH,
  string,
  string,
  string,
];
/** Clone frames addressed to one clone (`to`), forwarded along shortest paths. */
export type CloneAddressedFrame =
  CloneAckFrame | CloneDeliveredFrame | ClonePresenceFrame | ClonePresenceFetchFrame;
