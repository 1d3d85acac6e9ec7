/**
 * Frame types of the wsmesh wire protocol, version 2, and the unions over them. Every frame
 * is an array whose first element is the frame type; see PROTOCOL.md for the meaning of each
 * field. The numbers live in wire-codes.ts, the frames of each area in a module of its own
 * (handshake, client, recovery, clone, RPC, presence), all re-exported here.
 * @module
 */
import type { HelloFrame, WelcomeFrame, ChallengeFrame, AuthFrame } from './handshake-frames.js';
import type {
  MessageFrame,
  ReplyFrame,
  ErrorFrame,
  SubscribeFrame,
  UnsubscribeFrame,
  PublishFrame,
  GroupMessageFrame,
  GroupMessagesFrame,
  MembershipFrame,
  PingFrame,
  PongFrame,
} from './client-frames.js';
import type {
  SubscribeSinceFrame,
  RecoverFrame,
  HistoryRequestFrame,
  HistoryPageFrame,
} from './recovery-frames.js';
import type {
  CloneSyncFrame,
  CloneUpdateFrame,
  CloneRequestFrame,
  CloneDigestFrame,
  CloneRelayFrame,
  CloneGroupDeleteFrame,
} from './clone-frames.js';
import type {
  RpcCallFrame,
  RpcCancelFrame,
  RpcStreamFrame,
  RpcItemsFrame,
  RpcEndFrame,
  RpcStreamErrorFrame,
  RpcCreditFrame,
  RpcStreamCancelFrame,
  LinkRoutesFrame,
  RpcListFrame,
  RpcFunctionsFrame,
} from './rpc-frames.js';
import type { PresenceFrame, PresenceEventFrame, CloneAddressedFrame } from './presence-frames.js';

export * from './wire-codes.js';
export * from './handshake-frames.js';
export * from './client-frames.js';
export * from './recovery-frames.js';
export * from './clone-frames.js';
export * from './rpc-frames.js';
export * from './presence-frames.js';

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
  | GroupMessagesFrame
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
