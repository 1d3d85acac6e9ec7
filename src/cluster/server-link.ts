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

/**
 * A live server link. A link made with `createServerProxy` is for one namespace; a clone link
 * carries every namespace (`namespace` null), so clones share their functions.
 */
export class ServerLink {
  /** Calls to the peer. */
  readonly caller: RpcCaller;
  /** What the peer can reach: namespace, then function name. */
  readonly routes = new Map<string, Map<string, LearnedRoute>>();
  /** Serialized routes last sent per namespace, to skip identical adverts. */
  readonly lastSent = new Map<string, string>();
  /** Calls forwarded over this link that are still running. */
  inFlight = 0;
  /** Times this link was chosen among equals (for round-robin). */
  picked = 0;

  constructor(
    /** Id of the server at the other end. */
    readonly peerId: string,
    /** Namespace (or group) the link is for, the same name on both ends; null for every namespace. */
    readonly namespace: string | null,
    /** Transport connection. */
    readonly connection: Connection,
    /** Who dialed. */
    readonly direction: 'in' | 'out',
  ) {
    this.caller = new RpcCaller({
      request: (build, options) => connection.request(build, options),
      send: (frame) => connection.send(frame),
    });
  }

  /** Number of routes learned, over all namespaces. */
  get routeCount(): number {
    let count = 0;
    for (const table of this.routes.values()) count += table.size;
    return count;
  }

  /** True until the connection closes. */
  get open(): boolean {
    return !this.connection.closed;
  }
}
