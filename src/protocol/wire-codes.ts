/**
 * The numbers of the wsmesh wire protocol: its version, the frame types and the WebSocket
 * close codes. Every frame is an array whose first element is its type; see PROTOCOL.md.
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
  /**
   * Server to client, when both agreed on packs (PROTOCOL.md 2.9): consecutive group messages
   * of one batch with the same target, route and act, their payloads in one array.
   */
  GROUP_MESSAGES: 18,
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
