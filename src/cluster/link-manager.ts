/**
 * RPC server links (`server.createServerProxy`): every server of a chain, fork, ring or
 * mesh can call every function registered anywhere in it.
 *
 * Routing is path-vector: on each link a server advertises the functions it can reach in the
 * link's zone (its own, and those learned on its other links), each with the path of server
 * ids to where the function lives. A server ignores paths that contain itself, so there are
 * no loops in any topology, and picks the shortest path per function (ties share the load,
 * least calls in flight first). Adverts go out at once on any change (batched per tick) and
 * in full every `proxyInterval`. A link that breaks takes its routes with it at once, and
 * calls in flight over it fail with `ConnectionClosedError`; dialed links redial by themselves.
 * @module
 */
import { InvalidArgumentError, NotConnectedError, type WsMeshError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import {
  CloseCode,
  FrameType,
  type Frame,
  type FunctionInfo,
  type LinkRoute,
} from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import { DEFAULT_NAMESPACE, type FunctionRegistry } from '../rpc/registry.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { proxyUrl, type RpcEndpointOptions } from '../rpc/endpoint.js';
import { PeerDialer } from './peer-dialer.js';
import { RemoteTarget } from './remote-target.js';
import { sameAdvert, sameRoute, sameRoutes, ServerLink, type LearnedRoute } from './server-link.js';

/** Options of `server.createServerProxy`: `url`, or `host` + `port` (+ `path`). */
export type ServerProxyOptions = RpcEndpointOptions & {
  /** Encrypt every frame of the link (AES-256-GCM keyed from the secret). Needs `serverSecret`. */
  encryption?: boolean;
  /** ms to wait for the first connection before the promise rejects (dialing goes on). Default 10000. */
  timeout?: number;
};

/** A function learned on a link: where it lives (path of server ids from the peer). */
export interface LinkFunction {
  namespace: string;
  name: string;
  kind: FunctionInfo['kind'];
  path: string[];
}

/** What the link manager needs from its server. */
export interface LinkHost {
  readonly id: string;
  readonly registry: FunctionRegistry;
  readonly responder: RpcResponder;
  readonly linkOptions: {
    serverSecret: string | undefined;
    proxyInterval: number;
    awaitResTimeout: number;
    maxPayload: number;
    maxBufferedBytes: number;
    heartbeatInterval: number;
    tls: TlsOptions | undefined;
  };
  loadLinkCodec(): Promise<Codec>;
  functionsChanged(namespace: string): void;
  reportError(error: unknown): void;
}

/** Server links of one server. */
export class LinkManager {
  private readonly links = new Set<ServerLink>();
  private readonly byConnection = new Map<Connection, ServerLink>();
  private readonly dialers = new Set<PeerDialer>();
  private readonly heartbeat: HeartbeatMonitor;
  private advertScheduled = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly host: LinkHost) {
    // Links watch each other closely: a broken link must take its routes away within seconds.
    this.heartbeat = new HeartbeatMonitor(Math.min(host.linkOptions.heartbeatInterval, 1000));
  }

  /**
   * Live links (for inspection and stats), clone links included (namespace null): `routes` is
   * the number of functions learned, `functions` lists them with the path of server ids to
   * where each lives, `latencyMs` is the last timed PING round trip (heartbeats of idle links
   * time theirs), null until one returned.
   */
  list(): {
    peerId: string;
    namespace: string | null;
    direction: 'in' | 'out';
    routes: number;
    inFlight: number;
    latencyMs: number | null;
    functions: LinkFunction[];
  }[] {
    return [...this.links].map((link) => {
      const functions: LinkFunction[] = [];
      for (const [namespace, table] of link.routes) {
        for (const [name, route] of table)
          functions.push({ namespace, name, kind: route.info.kind, path: [...route.path] });
      }
      return {
        peerId: link.peerId,
        namespace: link.namespace,
        direction: link.direction,
        routes: link.routeCount,
        inFlight: link.inFlight,
        latencyMs: link.connection.rttMs ?? null,
        functions,
      };
    });
  }

  /** Links this server to another for one namespace; resolves once the link is first up. */
  async createServerProxy(options: ServerProxyOptions): Promise<void> {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidArgumentError('createServerProxy takes an options object');
    }
    const url = proxyUrl(options);
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const secret = options.serverSecret ?? this.host.linkOptions.serverSecret;
    if (options.encryption === true && secret === undefined) {
      throw new InvalidArgumentError('createServerProxy: encryption needs a serverSecret');
    }
    const codec = await this.host.loadLinkCodec();
    const { host } = this;
    let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
    const firstOpen = new Promise<void>((resolve, reject) => {
      settle = { resolve, reject };
    });
    const dialer: PeerDialer = new PeerDialer({
      role: 'link',
      selfId: host.id,
      codec,
      maxPayload: host.linkOptions.maxPayload,
      maxBufferedBytes: host.linkOptions.maxBufferedBytes,
      tls: options.tls ?? host.linkOptions.tls,
      retryBase: 1000,
      url: () => url,
      handshake: () => ({
        id: host.id,
        kind: 'link',
        namespace,
        maxPayload: host.linkOptions.maxPayload,
        secret,
        encryption: options.encryption === true,
        cipherFactory: nodeCipherFactory,
      }),
      accept: (welcome) =>
        welcome.serverId === host.id
          ? new InvalidArgumentError('createServerProxy: a server cannot link to itself')
          : undefined,
      opened: (connection, welcome) => {
        this.addLink(new ServerLink(welcome.serverId, namespace, connection, 'out'));
        settle?.resolve();
        settle = undefined;
      },
      frame: (connection, frame) => this.frame(connection, frame),
      closed: (connection) => this.removeLink(connection),
      failed: (error, authRefused) => {
        if (authRefused) {
          // A wrong secret will not fix itself: report it and stop dialing.
          settle?.reject(error);
          settle = undefined;
          dialer.stop();
          this.dialers.delete(dialer);
        }
        this.host.reportError(error);
      },
    });
    this.dialers.add(dialer);
    dialer.start();
    const timeout = options.timeout ?? 10_000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timedOut = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () =>
          reject(new NotConnectedError(`No link to ${url} within ${timeout} ms (still trying)`)),
        timeout,
      );
    });
    try {
      await Promise.race([firstOpen, timedOut]);
    } finally {
      if (timer !== undefined) clearTimeout(timer);
    }
  }

  /** @internal A server dialed in for `namespace` and proved the secret. */
  acceptInbound(connection: Connection, peerId: string, namespace: string): void {
    this.addLink(new ServerLink(peerId, namespace, connection, 'in'));
  }

  /** @internal Non-request frames on an inbound link. */
  inboundFrame(connection: Connection, frame: Frame): void {
    this.frame(connection, frame);
  }

  /** @internal An inbound link closed. */
  inboundClosed(connection: Connection): void {
    this.removeLink(connection);
  }

  /** @internal Starts the periodic full re-sync. */
  start(): void {
    this.timer = setInterval(() => {
      for (const link of this.links) link.lastSent.clear();
      this.scheduleAdverts();
    }, this.host.linkOptions.proxyInterval);
    this.timer.unref();
  }

  /** @internal Closes every link and stops dialing. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    for (const dialer of this.dialers) dialer.stop();
    this.dialers.clear();
    for (const link of [...this.links])
      link.connection.close(CloseCode.GOING_AWAY, 'server stopping');
    this.heartbeat.stop();
  }

  /** @internal Local functions changed: tell the links. */
  localChanged(): void {
    this.scheduleAdverts();
  }

  /**
   * The best remote route to `name` in `namespace`, if any. With `within`, only routes on
   * clone links whose every server passes `within` (functions of the clone mesh itself).
   */
  resolve(
    namespace: string,
    name: string,
    within?: (id: string) => boolean,
  ): CallTarget | undefined {
    if (this.links.size === 0) return undefined;
    const { registry } = this.host;
    const key = registry.zoneKey(namespace);
    let best: { link: ServerLink; namespace: string; route: LearnedRoute } | undefined;
    for (const link of this.links) {
      if (!link.open || (within !== undefined && link.namespace !== null)) continue;
      for (const [linkNamespace, table] of link.routes) {
        const route = table.get(name);
        if (route === undefined || registry.zoneKey(linkNamespace) !== key) continue;
        if (within !== undefined && !route.path.every(within)) continue;
        const length = route.path.length;
        // Shortest path first; among equals, the link with the fewest calls in flight.
        if (
          best === undefined ||
          length < best.route.path.length ||
          (length === best.route.path.length &&
            (link.inFlight < best.link.inFlight ||
              (link.inFlight === best.link.inFlight && link.picked < best.link.picked)))
        ) {
          best = { link, namespace: linkNamespace, route };
        }
      }
    }
    if (best === undefined) return undefined;
    // Ties go round the links in turn.
    best.link.picked++;
    // One target per route, kept until the route changes (routesReceived replaces it).
    best.route.target ??= new RemoteTarget(
      best.link,
      best.namespace,
      best.route.info,
      this.host.linkOptions.awaitResTimeout,
    );
    return best.route.target;
  }

  /** Remote functions of `namespace` (best description per name); `within` as in `resolve`. */
  listRemote(namespace: string, within?: (id: string) => boolean): FunctionInfo[] {
    const { registry } = this.host;
    const key = registry.zoneKey(namespace);
    const byName = new Map<string, { info: FunctionInfo; length: number }>();
    for (const link of this.links) {
      if (!link.open || (within !== undefined && link.namespace !== null)) continue;
      for (const [linkNamespace, table] of link.routes) {
        if (registry.zoneKey(linkNamespace) !== key) continue;
        for (const [name, route] of table) {
          if (within !== undefined && !route.path.every(within)) continue;
          const known = byName.get(name);
          if (known === undefined || route.path.length < known.length) {
            byName.set(name, { info: route.info, length: route.path.length });
          }
        }
      }
    }
    return [...byName.values()].map((entry) => entry.info);
  }

  /** @internal A clone link came up: clones share every namespace over it. */
  attachCloneLink(connection: Connection, peerId: string, direction: 'in' | 'out'): void {
    this.addLink(new ServerLink(peerId, null, connection, direction));
  }

  /** @internal A clone link closed. */
  detachCloneLink(connection: Connection): void {
    this.removeLink(connection);
  }

  /** @internal RPC and route frames on a clone link. */
  cloneLinkFrame(connection: Connection, frame: Frame): void {
    this.frame(connection, frame);
  }

  private addLink(link: ServerLink): void {
    this.links.add(link);
    this.byConnection.set(link.connection, link);
    this.heartbeat.add(link.connection);
    link.lastSent.clear();
    this.scheduleAdverts();
  }

  private removeLink(connection: Connection): void {
    const link = this.byConnection.get(connection);
    if (link === undefined) return;
    this.byConnection.delete(connection);
    this.links.delete(link);
    this.heartbeat.delete(connection);
    link.caller.connectionClosed();
    this.host.responder.connectionClosed(connection);
    const namespaces = [...link.routes.keys()];
    link.routes.clear();
    for (const namespace of namespaces) this.zoneChanged(namespace);
    this.scheduleAdverts();
  }

  private frame(connection: Connection, frame: Frame): void {
    const link = this.byConnection.get(connection);
    if (link === undefined) return;
    if (frame[0] === FrameType.LINK_ROUTES) {
      this.routesReceived(link, frame[1], frame[2]);
      return;
    }
    if (link.caller.handleFrame(frame)) return;
    // Calls from the peer (on links this server dialed, there is no server connection).
    this.host.responder.handle(connection, true, frame);
  }

  private routesReceived(link: ServerLink, namespace: string, routes: LinkRoute[]): void {
    if (link.namespace !== null && namespace !== link.namespace) return;
    const self = this.host.id;
    const next = new Map<string, LearnedRoute>();
    for (const [name, info, path] of routes) {
      if (path.includes(self)) continue; // a path through this server would loop
      const known = next.get(name);
      if (known === undefined || path.length < known.path.length) next.set(name, { info, path });
    }
    const previous = link.routes.get(namespace);
    // Unchanged: the table stays as it is, with the targets made for its routes.
    if (sameRoutes(previous, next)) return;
    for (const [name, route] of next) {
      const known = previous?.get(name);
      if (known?.target !== undefined && sameRoute(known, route)) route.target = known.target;
    }
    if (next.size === 0) link.routes.delete(namespace);
    else link.routes.set(namespace, next);
    this.zoneChanged(namespace);
    this.scheduleAdverts();
  }

  private zoneChanged(namespace: string): void {
    const { registry } = this.host;
    const notified = new Set<string>([namespace]);
    for (const member of registry.zone(namespace)) {
      notified.add(member);
      for (const group of registry.groupsOf(member)) notified.add(group);
    }
    for (const name of notified) this.host.functionsChanged(name);
  }

  private scheduleAdverts(): void {
    if (this.advertScheduled) return;
    this.advertScheduled = true;
    process.nextTick(() => {
      this.advertScheduled = false;
      for (const link of this.links) this.advertise(link);
    });
  }

  /** Namespaces a clone link advertises: every one this server has or has learned. */
  private allNamespaces(): Set<string> {
    const namespaces = new Set(this.host.registry.namespaceNames());
    for (const link of this.links)
      for (const namespace of link.routes.keys()) namespaces.add(namespace);
    return namespaces;
  }

  /** What this server can reach in the zone of `namespace`, minus paths through the peer. */
  private routesFor(link: ServerLink, namespace: string): LinkRoute[] {
    const { registry, id } = this.host;
    const key = registry.zoneKey(namespace);
    const best = new Map<string, LinkRoute>();
    // Local functions: those a call arriving on this link can reach (the responder resolves
    // local functions in the link's namespace, or its members for a group), not those of the
    // whole zone: a function registered in one member only would be advertised but refused.
    for (const local of registry.list(namespace)) {
      if (!best.has(local.name)) best.set(local.name, [local.name, local.info, [id]]);
    }
    for (const other of this.links) {
      if (other === link || !other.open) continue;
      for (const [otherNamespace, table] of other.routes) {
        if (registry.zoneKey(otherNamespace) !== key) continue;
        for (const [name, route] of table) {
          if (route.path.includes(link.peerId)) continue;
          const path = [id, ...route.path];
          const known = best.get(name);
          if (known === undefined || known[2].length > path.length)
            best.set(name, [name, route.info, path]);
        }
      }
    }
    return [...best.values()];
  }

  private advertise(link: ServerLink): void {
    if (!link.open) return;
    const namespaces = link.namespace === null ? this.allNamespaces() : [link.namespace];
    for (const namespace of namespaces) {
      const routes = this.routesFor(link, namespace);
      // A clone link need not announce an empty table for a namespace it never announced.
      const previous = link.lastSent.get(namespace) ?? (link.namespace === null ? [] : undefined);
      if (sameAdvert(previous, routes)) continue;
      link.lastSent.set(namespace, routes);
      try {
        link.connection.send([FrameType.LINK_ROUTES, namespace, routes]);
      } catch (error) {
        this.host.reportError(error as WsMeshError);
      }
    }
  }
}
