/**
 * Path-vector routing over server links: what each link advertises (the functions this
 * server reaches in the link's zone, each with its path of server ids), what it learned from
 * the peer, and the best route to a function. A path that contains this server is ignored, so
 * no topology loops; the shortest path wins, ties share the load (least calls in flight, then
 * in turn).
 * @module
 */
import type { WsMeshError } from '../errors.js';
import { FrameType, type FunctionInfo, type LinkRoute } from '../protocol/frames.js';
import type { CallTarget } from '../rpc/call-target.js';
import type { FunctionRegistry } from '../rpc/registry.js';
import { RemoteTarget } from './remote-target.js';
import {
  sameAdvert,
  sameRoute,
  sameRoutes,
  type LearnedRoute,
  type ServerLink,
} from './server-link.js';

/** What the routing reads from its server. */
export interface LinkRoutingHost {
  readonly id: string;
  readonly registry: FunctionRegistry;
  readonly linkOptions: { readonly awaitResTimeout: number };
  functionsChanged(namespace: string): void;
  reportError(error: unknown): void;
}

/** The routes of one server's links. */
export class LinkRouting {
  private advertScheduled = false;

  constructor(
    private readonly host: LinkRoutingHost,
    private readonly links: ReadonlySet<ServerLink>,
  ) {}

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
    // One target per route, kept until the route changes (received replaces it).
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

  /** LINK_ROUTES from the peer of `link`: its table for `namespace` is replaced. */
  received(link: ServerLink, namespace: string, routes: LinkRoute[]): void {
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

  /** `link` is gone: the functions it led to are gone too. */
  removed(link: ServerLink): void {
    const namespaces = [...link.routes.keys()];
    link.routes.clear();
    for (const namespace of namespaces) this.zoneChanged(namespace);
    this.scheduleAdverts();
  }

  /** Sends every link its advert once this tick ends, if it changed. */
  scheduleAdverts(): void {
    if (this.advertScheduled) return;
    this.advertScheduled = true;
    process.nextTick(() => {
      this.advertScheduled = false;
      for (const link of this.links) this.advertise(link);
    });
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
