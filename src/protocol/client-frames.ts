/**
 * The frames between a client and its server: messages and their replies or errors,
 * subscriptions, publishes, group messages, membership changes and heartbeats.
 * @module
 */
import type { FrameType } from './wire-codes.js';

/** Error object carried by ERROR frames. */
export interface WireError {
  /** Stable code, e.g. `ERR_NO_ROUTE` or `ERR_REMOTE`. */
  code: string;
  /** Human-readable message. */
  message: string;
  /** For `ERR_REMOTE`: the `name` of the remote error. */
  name?: string;
  /** For `ERR_REMOTE`: the remote error's own `code`, when it had one. */
  remoteCode?: string;
  /** Id of the node where the error was raised. */
  origin?: string;
  /** Optional structured details. */
  data?: unknown;
}

/** Target of a publish: one group id, several, or `null` for every group. */
export type GroupTarget = string | string[] | null;

/** `[2, id, route, act, data]`; id 0 = no reply wanted. */
export type MessageFrame = [
  typeof FrameType.MESSAGE,
  number,
  string | null,
  string | null,
  unknown,
];
/** `[3, id, data]` */
export type ReplyFrame = [typeof FrameType.REPLY, number, unknown];
/** `[4, id, error]`; id 0 = not tied to a request. */
export type ErrorFrame = [typeof FrameType.ERROR, number, WireError];
/** `[5, id, groupId, options?]` */
export type SubscribeFrame = [typeof FrameType.SUBSCRIBE, number, string, SubscribeBody?];
/** `[6, id, groupId]` */
export type UnsubscribeFrame = [typeof FrameType.UNSUBSCRIBE, number, string];
/** `[7, id, target, route, act, data, notSendMe, ack?]`; `ack` `"cluster"` waits for every node. */
export type PublishFrame = [
  typeof FrameType.PUBLISH,
  number,
  GroupTarget,
  string | null,
  string | null,
  unknown,
  boolean,
  ('cluster' | null)?,
];
/** `[8, target, route, act, data, position?]`; `position` only for groups with history. */
export type GroupMessageFrame = [
  typeof FrameType.GROUP_MESSAGE,
  GroupTarget,
  string | null,
  string | null,
  unknown,
  unknown?,
];
/**
 * `[18, target, route, act, datas]`: the messages `[8, target, route, act, data]` for each
 * `data` of `datas`, in order (never a position: numbered messages are not packed).
 */
export type GroupMessagesFrame = [
  typeof FrameType.GROUP_MESSAGES,
  GroupTarget,
  string | null,
  string | null,
  unknown[],
];
/** `[11, groupId, joined]` */
export type MembershipFrame = [typeof FrameType.MEMBERSHIP, string, boolean];
export type PingFrame = [typeof FrameType.PING];
export type PongFrame = [typeof FrameType.PONG];
/** Options of a SUBSCRIBE (its optional fourth element). */
export interface SubscribeBody {
  /** List the subscriber in the group's presence and send it PRESENCE_EVENT frames. */
  presence?: boolean;
  /** What the presence lists for this member (the client's `data`). */
  data?: unknown;
}
