/**
 * The cluster as one node sees it, as plain JSON: served by the dashboard's API
 * (`/_wsmesh/api/state`), drawn by the dashboard page, printed by `wsmesh inspect`.
 * @module
 */
import type { RemoteCloneState } from '../cluster/remote-clone.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { ServerStats } from './server-stats.js';
import type { OpsHost } from './ops-host.js';
import type { RatePoint } from './rate-history.js';

/** State of a graph node: a clone's state, `self`, or `server` for an RPC link peer. */
export type NodeState = RemoteCloneState | 'self' | 'server';

/** A node of the cluster graph. */
export interface GraphNode {
  id: string;
  kind: 'self' | 'clone' | 'server';
  state: NodeState;
  url: string | null;
}

/**
 * An edge of the cluster graph: a clone link, an RPC server link, or a node this node reaches
 * through its backplane (NATS...) without a link of its own.
 */
export interface GraphEdge {
  from: string;
  to: string;
  kind: 'clone' | 'link' | 'backplane';
  /** Namespace of a server link. */
  namespace?: string;
  /** Round trip in ms, for links of this node that have one. */
  latencyMs?: number;
}

/** Where a function can run: here, or through a link along a path of server ids. */
export interface FunctionPlace {
  local: boolean;
  /** Next hop (the link's peer) for a remote route. */
  via?: string;
  /** Server ids from the next hop to where the function lives. */
  path?: string[];
}

/** One function of a namespace with every place it can run, the one calls use first. */
export interface FunctionState {
  name: string;
  kind: FunctionInfo['kind'];
  places: FunctionPlace[];
}

/** What `/_wsmesh/api/state` returns. */
export interface ClusterState {
  node: {
    id: string;
    url: string | null;
    port: number | null;
    active: boolean;
    pid: number;
    startedAt: number;
    now: number;
  };
  stats: ServerStats;
  graph: { nodes: GraphNode[]; edges: GraphEdge[] };
  serverLinks: {
    peerId: string;
    namespace: string;
    direction: 'in' | 'out';
    routes: number;
    inFlight: number;
    latencyMs: number | null;
  }[];
  groups: { id: string; subscribers: number; clones: string[] }[];
  /** Groups left out of `groups` (the largest 500 are listed). */
  groupsOmitted: number;
  namespaces: { name: string; functions: FunctionState[] }[];
  rates: { intervalMs: number; points: RatePoint[] };
}

const MAX_GROUPS = 500;

function byId(a: { id: string }, b: { id: string }): number {
  return a.id.localeCompare(b.id);
}

function graphOf(
  host: OpsHost,
  links: ReturnType<OpsHost['serverLinks']>,
  backplane: ServerStats['backplane'],
): ClusterState['graph'] {
  const nodes = new Map<string, GraphNode>();
  nodes.set(host.id, { id: host.id, kind: 'self', state: 'self', url: host.url ?? null });
  for (const clone of host.clones.clones.values()) {
    nodes.set(clone.id, { id: clone.id, kind: 'clone', state: clone.state, url: clone.url });
  }
  const topology = host.clones.topology();
  for (const entry of topology) {
    if (!nodes.has(entry.id))
      nodes.set(entry.id, { id: entry.id, kind: 'clone', state: 'routed', url: entry.url });
  }
  const edges = new Map<string, GraphEdge>();
  const addEdge = (edge: GraphEdge): void => {
    if (!nodes.has(edge.from) || !nodes.has(edge.to) || edge.from === edge.to) return;
    const [a, b] = edge.from < edge.to ? [edge.from, edge.to] : [edge.to, edge.from];
    const key = `${edge.kind}\u0000${a}\u0000${b}\u0000${edge.namespace ?? ''}`;
    const known = edges.get(key);
    if (known === undefined || (known.latencyMs === undefined && edge.latencyMs !== undefined))
      edges.set(key, edge);
  };
  for (const [peerId, link] of host.clones.links) {
    if (link.closed) continue;
    const rtt = link.connection.rttMs;
    addEdge({
      from: host.id,
      to: peerId,
      kind: 'clone',
      ...(rtt === undefined ? {} : { latencyMs: rtt }),
    });
  }
  for (const entry of topology) {
    if (entry.id === host.id) continue;
    for (const peer of entry.links) addEdge({ from: entry.id, to: peer, kind: 'clone' });
  }
  if (backplane !== null) {
    for (const clone of host.clones.clones.values())
      if (!host.clones.links.has(clone.id))
        addEdge({ from: host.id, to: clone.id, kind: 'backplane' });
  }
  for (const link of links) {
    if (link.namespace === null) continue;
    if (!nodes.has(link.peerId))
      nodes.set(link.peerId, { id: link.peerId, kind: 'server', state: 'server', url: null });
    addEdge({
      from: link.direction === 'out' ? host.id : link.peerId,
      to: link.direction === 'out' ? link.peerId : host.id,
      kind: 'link',
      namespace: link.namespace,
      ...(link.latencyMs === null ? {} : { latencyMs: link.latencyMs }),
    });
  }
  const sortedNodes = [...nodes.values()].sort((a, b) =>
    a.kind === 'self' ? -1 : b.kind === 'self' ? 1 : byId(a, b),
  );
  return { nodes: sortedNodes, edges: [...edges.values()] };
}

function namespacesOf(
  host: OpsHost,
  links: ReturnType<OpsHost['serverLinks']>,
): ClusterState['namespaces'] {
  const namespaces = new Map<string, Map<string, FunctionState>>();
  const table = (name: string): Map<string, FunctionState> => {
    let functions = namespaces.get(name);
    if (functions === undefined) {
      functions = new Map();
      namespaces.set(name, functions);
    }
    return functions;
  };
  for (const namespace of host.registry.namespaceNames()) {
    const functions = table(namespace);
    for (const entry of host.registry.list(namespace)) {
      functions.set(entry.name, {
        name: entry.name,
        kind: entry.info.kind,
        places: [{ local: true }],
      });
    }
  }
  for (const link of links) {
    for (const route of link.functions) {
      const functions = table(route.namespace);
      let state = functions.get(route.name);
      if (state === undefined) {
        state = { name: route.name, kind: route.kind, places: [] };
        functions.set(route.name, state);
      }
      state.places.push({ local: false, via: link.peerId, path: route.path });
    }
  }
  return [...namespaces]
    .map(([name, functions]) => ({
      name,
      functions: [...functions.values()]
        .map((fn) => ({
          ...fn,
          // Local first, then shortest path: the order calls try them.
          places: fn.places.sort((a, b) =>
            a.local ? -1 : b.local ? 1 : (a.path?.length ?? 0) - (b.path?.length ?? 0),
          ),
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

function groupsOf(host: OpsHost): Pick<ClusterState, 'groups' | 'groupsOmitted'> {
  const interest = new Map<string, string[]>();
  for (const entry of host.clones.topology()) {
    if (entry.id === host.id) continue;
    for (const group of entry.groups) {
      const list = interest.get(group);
      if (list === undefined) interest.set(group, [entry.id]);
      else list.push(entry.id);
    }
  }
  const groups: ClusterState['groups'] = [];
  for (const [id, group] of host.groups.get()) {
    groups.push({ id, subscribers: group.subscribers.size, clones: interest.get(id) ?? [] });
    interest.delete(id);
  }
  // Groups with subscribers only on other clones.
  for (const [id, clones] of interest) groups.push({ id, subscribers: 0, clones });
  groups.sort((a, b) => b.subscribers - a.subscribers || b.clones.length - a.clones.length);
  return {
    groups: groups.slice(0, MAX_GROUPS).sort(byId),
    groupsOmitted: Math.max(0, groups.length - MAX_GROUPS),
  };
}

/** The state of the cluster as `host` sees it now. */
export function clusterState(
  host: OpsHost,
  startedAt: number,
  rates: ClusterState['rates'],
): ClusterState {
  const links = host.serverLinks();
  const stats = host.stats();
  return {
    node: {
      id: host.id,
      url: host.url ?? null,
      port: host.port ?? null,
      active: host.active,
      pid: process.pid,
      startedAt,
      now: Date.now(),
    },
    stats,
    graph: graphOf(host, links, stats.backplane),
    serverLinks: links.flatMap((link) =>
      link.namespace === null
        ? []
        : [
            {
              peerId: link.peerId,
              namespace: link.namespace,
              direction: link.direction,
              routes: link.routes,
              inFlight: link.inFlight,
              latencyMs: link.latencyMs,
            },
          ],
    ),
    ...groupsOf(host),
    namespaces: namespacesOf(host, links),
    rates,
  };
}
