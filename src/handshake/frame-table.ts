/**
 * Which part of a server takes each frame an open peer sends, per peer role. What a peer may
 * do depends only on its role, never on which side dialed: the accepting side looks up the
 * role its handshake granted, a dialer the role of the peer it dialed (a clone or a server
 * link). A frame type missing from a role's table is refused with ERR_PROTOCOL.
 * @module
 */
import type { PeerRole } from './admission.js';
import { FrameType } from '../protocol/frames.js';

/** The part of the server a frame goes to. */
export type FrameSink =
  /** Messages, memberships, publishes (src/server/dispatcher.ts). */
  | 'dispatcher'
  /** Calls, streams and lists this server answers (src/rpc/rpc-responder.ts). */
  | 'responder'
  /** Clone gossip, relays and group deletions (src/cluster/clone-manager.ts). */
  | 'clones'
  /** Routes and the answers to calls this server forwarded (src/cluster/link-manager.ts). */
  | 'links'
  /** An ERROR not tied to a request: logged as the peer's report. */
  | 'report';

const RESPONDER_FRAMES = [
  FrameType.RPC_CALL,
  FrameType.RPC_CANCEL,
  FrameType.RPC_STREAM,
  FrameType.RPC_CREDIT,
  FrameType.RPC_STREAM_CANCEL,
  FrameType.RPC_LIST,
] as const;

/** Frames that answer calls a server forwarded over a mesh peer, and route tables. */
const LINK_FRAMES = [
  FrameType.RPC_ITEMS,
  FrameType.RPC_END,
  FrameType.RPC_STREAM_ERROR,
  FrameType.RPC_FUNCTIONS,
  FrameType.LINK_ROUTES,
] as const;

const CLONE_FRAMES = [
  FrameType.CLONE_SYNC,
  FrameType.CLONE_UPDATE,
  FrameType.CLONE_REQUEST,
  FrameType.CLONE_DIGEST,
  FrameType.CLONE_RELAY,
  FrameType.CLONE_GROUP_DELETE,
  FrameType.HISTORY_REQUEST,
  FrameType.HISTORY_PAGE,
  FrameType.CLONE_ACK,
  FrameType.CLONE_DELIVERED,
  FrameType.CLONE_PRESENCE,
  FrameType.CLONE_PRESENCE_FETCH,
] as const;

function table(entries: [readonly number[], FrameSink][]): ReadonlyMap<number, FrameSink> {
  const map = new Map<number, FrameSink>();
  for (const [types, sink] of entries) for (const type of types) map.set(type, sink);
  return map;
}

const TABLES: Record<PeerRole, ReadonlyMap<number, FrameSink>> = {
  client: table([
    [
      [
        FrameType.MESSAGE,
        FrameType.SUBSCRIBE,
        FrameType.SUBSCRIBE_SINCE,
        FrameType.UNSUBSCRIBE,
        FrameType.PUBLISH,
        FrameType.PRESENCE,
      ],
      'dispatcher',
    ],
    [RESPONDER_FRAMES, 'responder'],
    [[FrameType.ERROR], 'report'],
  ]),
  clone: table([
    [CLONE_FRAMES, 'clones'],
    [RESPONDER_FRAMES, 'responder'],
    [LINK_FRAMES, 'links'],
    [[FrameType.ERROR], 'report'],
  ]),
  link: table([
    [RESPONDER_FRAMES, 'responder'],
    [LINK_FRAMES, 'links'],
    [[FrameType.ERROR], 'report'],
  ]),
};

/** Where a frame of `type` from a peer of `role` goes; undefined: refused. */
export function frameSink(role: PeerRole, type: number): FrameSink | undefined {
  return TABLES[role].get(type);
}
