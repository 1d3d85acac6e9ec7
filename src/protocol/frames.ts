/**
 * Frame types of the wsmesh wire protocol, version 2. Every frame is an array whose first
 * element is the frame type; see PROTOCOL.md for the meaning of each field.
 * @module
 */

/** Version of the wire protocol spoken by this build. */
export const PROTOCOL_VERSION = 2;

/** Numeric frame types. The numbers are part of the protocol and never change meaning. */
export const FrameType = {
  HELLO: 0,
  WELCOME: 1,
  MESSAGE: 2,
  REPLY: 3,
  ERROR: 4,
  SUBSCRIBE: 5,
  UNSUBSCRIBE: 6,
  PUBLISH: 7,
  GROUP_MESSAGE: 8,
  PING: 9,
  PONG: 10,
  /** Server to client: the connection joined or left a group (whoever changed it). */
  MEMBERSHIP: 11,
  /** Accepting side: its id and a fresh nonce, with its secret proof when the dialer asked. */
  CHALLENGE: 12,
  /** Dialing side: its answer to CHALLENGE (secret proof and/or a clone's authValue). */
  AUTH: 13,
  // Recovery (PROTOCOL.md 2.10): 14, 15, 26, 27 (45-49 kept for it).
  /** Client: SUBSCRIBE with the position to resume from (or null); answered by REPLY. */
  SUBSCRIBE_SINCE: 14,
  /** Server to client: a subscription with a position is live; whether nothing was missed. */
  RECOVER: 15,
  /** Between nodes (clone links, NATS): the history of a group after a position. */
  HISTORY_REQUEST: 26,
  /** Between nodes (clone links, NATS): one page of the answer to HISTORY_REQUEST. */
  HISTORY_PAGE: 27,
  /** Clone links only: full clone records the sender knows. */
  CLONE_SYNC: 20,
  /** Clone links only: one clone record changed. */
  CLONE_UPDATE: 21,
  /** Clone links only: ask for the full record of a clone. */
  CLONE_REQUEST: 22,
  /** Clone links only: versions of every record the sender knows (anti-entropy). */
  CLONE_DIGEST: 23,
  /** Clone links only: a group message on its way to other clones. */
  CLONE_RELAY: 24,
  /** Clone links only: a group was deleted. */
  CLONE_GROUP_DELETE: 25,
  /** RPC: call a function; answered by REPLY or ERROR. */
  RPC_CALL: 30,
  /** RPC: the caller gives up on a call it started. */
  RPC_CANCEL: 31,
  /** RPC: call a generator function; answered by RPC_ITEMS... then RPC_END or RPC_STREAM_ERROR. */
  RPC_STREAM: 32,
  /** RPC: items of a stream. */
  RPC_ITEMS: 33,
  /** RPC: a stream ended (with the generator's return value). */
  RPC_END: 34,
  /** RPC: a stream failed. */
  RPC_STREAM_ERROR: 35,
  /** RPC: the consumer of a stream can take `n` more items. */
  RPC_CREDIT: 36,
  /** RPC: the consumer stops a stream (the generator is returned). */
  RPC_STREAM_CANCEL: 37,
  /** RPC: list the functions of a namespace (and watch it); answered by REPLY. */
  RPC_LIST: 38,
  /** RPC: the functions of a watched namespace changed. */
  RPC_FUNCTIONS: 39,
  /** Server links only: the functions the sender can reach in the link's namespace, with paths. */
  LINK_ROUTES: 40,
  // Presence and cluster acknowledgements (PROTOCOL.md 2.3, 2.11).
  /** Client to server: the presence list (or count) of a group, cluster-wide; answered by REPLY. */
  PRESENCE: 16,
  /** Server to client: a member joined or left the presence of a group the client listens to. */
  PRESENCE_EVENT: 17,
  /** Clone links only: the sender holds the receiver's record at `version` or later. */
  CLONE_ACK: 50,
  /** Clone links only: the sender delivered a relayed message that asked for acknowledgement. */
  CLONE_DELIVERED: 51,
  /** Clone links only: presence changes of the sender's own members in one group. */
  CLONE_PRESENCE: 52,
  /** Clone links only: asks for the receiver's presence members of one group (CLONE_PRESENCE). */
  CLONE_PRESENCE_FETCH: 53,
} as const;

/** Kinds of peer announced in HELLO. */
export type PeerKind = 'client' | 'clone' | 'link' | 'rpc';

/** Body of a HELLO frame (first frame a dialing peer sends). */
export interface HelloBody {
  /** Protocol version the dialing peer speaks. */
  v: number;
  /** The dialing peer's own id (client id, clone id...). */
  id: string;
  /** What kind of peer dials. Default `client`. */
  kind?: PeerKind;
  /** Largest frame the dialing peer accepts, in bytes. */
  maxPayload?: number;
  /**
   * The dialing peer holds the server secret and will prove it: a fresh random nonce (16-128
   * base64url characters) the server's proof in CHALLENGE must cover.
   */
  challenge?: string;
  /** Clones only: random id of the dialing process, to tell duplicate ids apart. */
  instance?: string;
  /** Server links only: the namespace (or namespace group) the link is for. */
  namespace?: string;
  /**
   * Clients: credentials for the server's `authenticate` hook (a token, for example). A peer
   * that sends `challenge` puts them in AUTH instead, once the server proved the secret.
   */
  credentials?: unknown;
  /** Asks for payload encryption after the handshake (`aes-256-gcm`); needs `challenge`. */
  enc?: string;
  /**
   * The dialing peer reads batches: several frames in one WebSocket message (see
   * PROTOCOL.md, "Batches"). Ignored when `enc` is set.
   */
  batch?: boolean;
}

/** Body of a WELCOME frame (the accepting side's answer to HELLO). */
export interface WelcomeBody {
  /** Protocol version the accepting side speaks. */
  v: number;
  /** Id of the accepting server. */
  serverId: string;
  /** Id the server gave this connection (key of `server.clients`). */
  connectionId: string;
  /** Largest frame the server accepts, in bytes. */
  maxPayload: number;
  /** Set to `aes-256-gcm` when every frame after WELCOME is encrypted. */
  enc?: string;
  /** The server reads batches from this connection (never set together with `enc`). */
  batch?: boolean;
  /** The server takes SUBSCRIBE_SINCE and numbers group messages (PROTOCOL.md 2.10). */
  recovery?: boolean;
}

/** Body of a CHALLENGE frame: the accepting side's answer to a HELLO that needs proof. */
export interface ChallengeBody {
  /** Id of the accepting server. */
  serverId: string;
  /** Fresh random nonce of this connection (base64url, 24 characters). */
  nonce: string;
  /** When HELLO carried `challenge`: the server's proof of the secret (PROTOCOL.md 2.1). */
  proof?: string;
}

/** Body of an AUTH frame: the dialing side's answer to CHALLENGE. */
export interface AuthBody {
  /** Proof of the server secret over both nonces and both ids (PROTOCOL.md 2.1). */
  proof?: string;
  /** Clones: the value of their `authFnOut`, checked by the accepting side's `authFnIn`. */
  authValue?: unknown;
  /** Clients and proxies that prove the secret: `credentials` go here, not in HELLO. */
  credentials?: unknown;
}

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

export type HelloFrame = [typeof FrameType.HELLO, HelloBody];
export type WelcomeFrame = [typeof FrameType.WELCOME, WelcomeBody];
export type ChallengeFrame = [typeof FrameType.CHALLENGE, ChallengeBody];
export type AuthFrame = [typeof FrameType.AUTH, AuthBody];
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
/** A position in one group: last sequence per stream, and the time `t` it covers from. */
export interface WireGroupPosition {
  s: Record<string, number>;
  t: number;
}
/**
 * `[14, id, groupId, since, options?]`: SUBSCRIBE resuming from `since` (null: a fresh
 * subscription), with the options of SUBSCRIBE.
 */
export type SubscribeSinceFrame = [
  typeof FrameType.SUBSCRIBE_SINCE,
  number,
  string,
  WireGroupPosition | null,
  SubscribeBody?,
];
/** `[15, groupId, recovered, position]`; `recovered` null after a fresh subscription. */
export type RecoverFrame = [typeof FrameType.RECOVER, string, boolean | null, WireGroupPosition];
/** `[26, requestId, groupId, since]` */
export type HistoryRequestFrame = [
  typeof FrameType.HISTORY_REQUEST,
  number,
  string,
  WireGroupPosition,
];
/** One kept message: `[stream, seq, at, target, groupMessage]` (MessagePack bytes). */
export type WireHistoryEntry = [string, number, number, GroupTarget, Uint8Array];
/** What a node knows of a stream: `[stream, head, evictedSeq, evictedAt, floor]`. */
export type WireStreamInfo = [string, number, number, number, number];
/** `[27, requestId, entries, streams, last]`; `streams` on the last page only (else null). */
export type HistoryPageFrame = [
  typeof FrameType.HISTORY_PAGE,
  number,
  WireHistoryEntry[],
  WireStreamInfo[] | null,
  boolean,
];
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

/** Description of a function shared over RPC. */
export interface FunctionInfo {
  /** Function name. */
  name: string;
  /** Parameter names, as written in the source. */
  params: string[];
  /** Arguments required (parameters before the first default or rest parameter). */
  arity: number;
  /** Most arguments accepted, or null when a rest parameter takes any number. */
  maxArgs: number | null;
  /** `function` (returns a value) or `generator` (streams values). */
  kind: 'function' | 'generator';
}

/**
 * `[30, id, namespace, name, args, hops?, timeout?]`; `hops` = forwarding hops left (default
 * 16, null = default); `timeout` = ms the caller still waits, so forwarding servers wait as long.
 */
export type RpcCallFrame = [
  typeof FrameType.RPC_CALL,
  number,
  string,
  string,
  unknown[],
  (number | null)?,
  number?,
];
/** `[31, id]`: cancel call `id` */
export type RpcCancelFrame = [typeof FrameType.RPC_CANCEL, number];
/** `[32, streamId, namespace, name, args, credit, hops?]` */
export type RpcStreamFrame = [
  typeof FrameType.RPC_STREAM,
  number,
  string,
  string,
  unknown[],
  number,
  number?,
];
/** `[33, streamId, items]` */
export type RpcItemsFrame = [typeof FrameType.RPC_ITEMS, number, unknown[]];
/** `[34, streamId, returnValue]` */
export type RpcEndFrame = [typeof FrameType.RPC_END, number, unknown];
/** `[35, streamId, error]` */
export type RpcStreamErrorFrame = [typeof FrameType.RPC_STREAM_ERROR, number, WireError];
/** `[36, streamId, n]` */
export type RpcCreditFrame = [typeof FrameType.RPC_CREDIT, number, number];
/** `[37, streamId]` */
export type RpcStreamCancelFrame = [typeof FrameType.RPC_STREAM_CANCEL, number];
/** One route in LINK_ROUTES: function name, description, path of server ids (sender first). */
export type LinkRoute = [string, FunctionInfo, string[]];
/** `[40, namespace, routes]` */
export type LinkRoutesFrame = [typeof FrameType.LINK_ROUTES, string, LinkRoute[]];
/** `[38, id, namespace]` */
export type RpcListFrame = [typeof FrameType.RPC_LIST, number, string];
/** `[39, namespace, functions]` */
export type RpcFunctionsFrame = [typeof FrameType.RPC_FUNCTIONS, string, FunctionInfo[]];

/** `[11, groupId, joined]` */
export type MembershipFrame = [typeof FrameType.MEMBERSHIP, string, boolean];
export type PingFrame = [typeof FrameType.PING];
export type PongFrame = [typeof FrameType.PONG];

// Presence and cluster acknowledgements (PROTOCOL.md 2.3, 2.11).

/** Options of a SUBSCRIBE (its optional fourth element). */
export interface SubscribeBody {
  /** List the subscriber in the group's presence and send it PRESENCE_EVENT frames. */
  presence?: boolean;
  /** What the presence lists for this member (the client's `data`). */
  data?: unknown;
}
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

/** Any valid frame of protocol version 2. */
export type Frame =
  | HelloFrame
  | WelcomeFrame
  | ChallengeFrame
  | AuthFrame
  | MessageFrame
  | ReplyFrame
  | ErrorFrame
  | SubscribeFrame
  | UnsubscribeFrame
  | PublishFrame
  | GroupMessageFrame
  | SubscribeSinceFrame
  | RecoverFrame
  | HistoryRequestFrame
  | HistoryPageFrame
  | MembershipFrame
  | PingFrame
  | PongFrame
  | CloneSyncFrame
  | CloneUpdateFrame
  | CloneRequestFrame
  | CloneDigestFrame
  | CloneRelayFrame
  | CloneGroupDeleteFrame
  | RpcCallFrame
  | RpcCancelFrame
  | RpcStreamFrame
  | RpcItemsFrame
  | RpcEndFrame
  | RpcStreamErrorFrame
  | RpcCreditFrame
  | RpcStreamCancelFrame
  | LinkRoutesFrame
  | RpcListFrame
  | RpcFunctionsFrame
  | PresenceFrame
  | PresenceEventFrame
  | CloneAddressedFrame;

/** The frame of type `T`: `FrameOf<typeof FrameType.PING>` is {@link PingFrame}. */
export type FrameOf<T extends Frame[0]> = Extract<Frame, readonly [T, ...unknown[]]>;

/**
 * Frames that may ask for a reply: index 1 is the request id (0 = no reply wanted). A
 * connection answers them by REPLY or ERROR with the same id.
 */
export type RequestFrame =
  | MessageFrame
  | SubscribeFrame
  | SubscribeSinceFrame
  | UnsubscribeFrame
  | PublishFrame
  | RpcCallFrame
  | RpcListFrame
  | PresenceFrame;

/**
 * Builds a request frame around its id. The connection that sends the request picks the id,
 * so a frame is built only once its id is known and no one writes into a built frame.
 */
export type RequestBuilder = (id: number) => RequestFrame;

/** WebSocket close codes used by wsmesh. */
export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  UNSUPPORTED_DATA: 1003,
  INVALID_PAYLOAD: 1007,
  POLICY_VIOLATION: 1008,
  MESSAGE_TOO_BIG: 1009,
  INTERNAL_ERROR: 1011,
  /** The peer missed its heartbeats (used locally when the socket is torn down). */
  HEARTBEAT_TIMEOUT: 4000,
  /** The first frame was not a valid HELLO, or it came too late. */
  HANDSHAKE_FAILED: 4001,
  /** Authentication was refused. */
  AUTH_FAILED: 4003,
  /** The outbound buffer overflowed (slow consumer). */
  SLOW_CONSUMER: 4008,
  /** Another node with the same id is already connected. */
  DUPLICATE_ID: 4009,
} as const;
