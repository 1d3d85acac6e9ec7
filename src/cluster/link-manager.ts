/**
 * RPC server links (`server.createServerProxy`): every server of a chain, fork, ring or
 * mesh can call every function registered anywhere in it.
 *
 * This file keeps the links (dialed by server-proxy.ts, accepted by the handshake, clone
 * links lent by the mesh) and hands their frames on: routes to link-routing.ts (path-vector
 * routing), replies to the link's caller, calls to the responder. Adverts go out at once on
 * any change (batched per tick) and in full every `proxyInterval`. A link that breaks takes
 * its routes with it at once, and calls in flight over it fail with `ConnectionClosedError`;
 * dialed links redial by themselves.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { CloseCode, FrameType, type Frame, type FunctionInfo } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import type { FunctionRegistry } from '../rpc/registry.js';
import type { RpcResponder } from '../rpc/rpc-responder.js';
import type { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { LinkRouting } from './link-routing.js';
import type { PeerDialer } from './peer-dialer.js';
import { dialServerProxy, type ServerProxyOptions } from './server-proxy.js';
import { ServerLink } from './server-link.js';

export type { ServerProxyOptions } from './server-proxy.js';

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
  private readonly routing: LinkRouting;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly host: LinkHost) {
    // Links watch each other closely: a broken link must take its routes away within seconds.
    this.heartbeat = new HeartbeatMonitor(Math.min(host.linkOptions.heartbeatInterval, 1000));
    this.routing = new LinkRouting(host, this.links);
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
  createServerProxy(options: ServerProxyOptions): Promise<void> {
    return dialServerProxy(this.host, options, {
      dialers: this.dialers,
      opened: (link) => this.addLink(link),
      frame: (connection, frame) => this.frame(connection, frame),
      closed: (connection) => this.removeLink(connection),
    });
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
      this.routing.scheduleAdverts();
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
    this.routing.scheduleAdverts();
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
    return this.routing.resolve(namespace, name, within);
  }

  /** Remote functions of `namespace` (best description per name); `within` as in `resolve`. */
  listRemote(namespace: string, within?: (id: string) => boolean): FunctionInfo[] {
    return this.routing.listRemote(namespace, within);
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
    this.routing.scheduleAdverts();
  }

  private removeLink(connection: Connection): void {
    const link = this.byConnection.get(connection);
    if (link === undefined) return;
    this.byConnection.delete(connection);
    this.links.delete(link);
    this.heartbeat.delete(connection);
    link.caller.connectionClosed();
    this.host.responder.connectionClosed(connection);
    this.routing.removed(link);
  }

  private frame(connection: Connection, frame: Frame): void {
    const link = this.byConnection.get(connection);
    if (link === undefined) return;
    if (frame[0] === FrameType.LINK_ROUTES) {
      this.routing.received(link, frame[1], frame[2]);
      return;
    }
    if (link.caller.handleFrame(frame)) return;
    // Calls from the peer (on links this server dialed, there is no server connection).
    this.host.responder.handle(connection, true, frame);
  }
}
