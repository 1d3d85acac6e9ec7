/**
 * One RPC link between two servers for one namespace (or namespace group): each side calls
 * the other over it, and each tells the other which functions it can reach, with the path.
 * @module
 */
import type { FunctionInfo, LinkRoute } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import { RpcCaller } from '../rpc/rpc-caller.js';
import type { Connection } from '../transport/connection.js';

/** A route learned from the peer: the function's description and the servers on the way. */
export interface LearnedRoute {
  info: FunctionInfo;
  /** Server ids from the peer (first) to the server where the function lives (last). */
  path: string[];
  /** The target calls over this route run against, made on first use and kept with the route. */
  target?: CallTarget;
}

/** True when two function descriptions are the same. */
export function sameInfo(a: FunctionInfo, b: FunctionInfo): boolean {
  return (
    a.name === b.name &&
    a.kind === b.kind &&
    a.arity === b.arity &&
    a.maxArgs === b.maxArgs &&
    sameStrings(a.params, b.params)
  );
}

/** True when two route tables of one namespace name the same functions with the same paths. */
export function sameRoutes(
  a: ReadonlyMap<string, LearnedRoute> | undefined,
  b: ReadonlyMap<string, LearnedRoute>,
): boolean {
  if ((a?.size ?? 0) !== b.size) return false;
  for (const [name, route] of b) {
    const other = a?.get(name);
    if (other === undefined || !sameRoute(other, route)) return false;
  }
  return true;
}

/** True when two routes lead to the same function by the same path. */
export function sameRoute(a: LearnedRoute, b: LearnedRoute): boolean {
  return sameStrings(a.path, b.path) && sameInfo(a.info, b.info);
}

/** True when two adverts list the same routes in the same order. */
export function sameAdvert(a: readonly LinkRoute[] | undefined, b: readonly LinkRoute[]): boolean {
  if (a === undefined || a.length !== b.length) return false;
  for (let index = 0; index < b.length; index++) {
    const [name, info, path] = b[index] as LinkRoute;
    const [otherName, otherInfo, otherPath] = a[index] as LinkRoute;
    if (name !== otherName || !sameStrings(path, otherPath) || !sameInfo(info, otherInfo))
      return false;
  }
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let index = 0; index < a.length; index++) if (a[index] !== b[index]) return false;
  return true;
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
  /** Routes last sent per namespace, to skip identical adverts. */
  readonly lastSent = new Map<string, LinkRoute[]>();
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
    // Replies and relayed stream frames keep their value encoded (see rpc/encoded-frames.ts).
    connection.tapEncoded((type, id, value) =>
      this.caller.receiveEncoded(type, id, value, connection.codec),
    );
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
