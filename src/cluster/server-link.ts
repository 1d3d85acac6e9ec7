/**
 * One RPC link between two servers for one namespace (or namespace group): each side calls
 * the other over it, and each tells the other which functions it can reach, with the path.
 * @module
 */
import type { FunctionInfo } from '../protocol/frames.js';
import { RpcCaller } from '../rpc/rpc-caller.js';
import type { Connection } from '../transport/connection.js';

/** A route learned from the peer: the function's description and the servers on the way. */
export interface LearnedRoute {
  info: FunctionInfo;
  /** Server ids from the peer (first) to the server where the function lives (last). */
  path: string[];
}

/** A live server link. */
export class ServerLink {
  /** Calls to the peer. */
  readonly caller: RpcCaller;
  /** What the peer can reach, by function name. */
  routes = new Map<string, LearnedRoute>();
  /** Serialized routes last sent, to skip identical adverts. */
  lastSent = '';
  /** Calls forwarded over this link that are still running. */
  inFlight = 0;

  constructor(
    /** Id of the server at the other end. */
    readonly peerId: string,
    /** Namespace (or group) the link is for, the same name on both ends. */
    readonly namespace: string,
    /** Transport connection. */
    readonly connection: Connection,
    /** Who dialed. */
    readonly direction: 'in' | 'out',
  ) {
    this.caller = new RpcCaller({
      request: (frame, options) => connection.request(frame, options),
      send: (frame) => connection.send(frame),
    });
  }

  /** True until the connection closes. */
  get open(): boolean {
    return !this.connection.closed;
  }
}
