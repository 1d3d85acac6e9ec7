/**
 * The Prometheus exposition of a server (`/metrics`), built with prom-client on a registry of
 * its own (never the global default), so several servers in one process do not clash. Every
 * figure is read from one `server.stats()` snapshot per scrape: the endpoint and `stats()`
 * always agree, and nothing is counted twice on the hot path.
 * @module
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { BOUND_METRIC_NAMES, registerBoundMetrics } from './clone-metrics.js';
import { statsMetrics } from './stats-metrics.js';
import type { ServerStats } from './server-stats.js';
import { LATENCY_BUCKETS } from './rpc-stats.js';

/** Names of every metric, for docs and tests. */
export const METRIC_NAMES = [
  'wsmesh_clients',
  'wsmesh_sockets',
  'wsmesh_messages_in_total',
  'wsmesh_route_messages_total',
  'wsmesh_publishes_total',
  'wsmesh_group_deliveries_total',
  'wsmesh_group_messages_too_large_total',
  'wsmesh_groups',
  'wsmesh_subscriptions',
  'wsmesh_subscriptions_refused_total',
  'wsmesh_rejected_connections_total',
  'wsmesh_rate_limited_total',
  'wsmesh_clones_known',
  'wsmesh_clones_linked',
  'wsmesh_clone_relayed_out_total',
  'wsmesh_clone_relayed_in_total',
  'wsmesh_clone_frames_unsent_total',
  'wsmesh_clone_link_up',
  'wsmesh_clone_link_latency_seconds',
  'wsmesh_clone_link_relay_frames_total',
  'wsmesh_server_links',
  'wsmesh_rpc_calls_total',
  'wsmesh_rpc_errors_total',
  'wsmesh_rpc_namespaces',
  'wsmesh_rpc_function_calls_total',
  'wsmesh_rpc_function_errors_total',
  'wsmesh_rpc_call_duration_seconds',
  'wsmesh_backplane_up',
  'wsmesh_backplane_info',
  'wsmesh_backplane_groups',
  'wsmesh_backplane_messages_total',
  'wsmesh_backplane_calls_total',
  ...BOUND_METRIC_NAMES,
] as const;

/** Labels of the per-function histogram; `le` is added by the exposition itself. */
type FunctionLabel = 'namespace' | 'function' | 'le';

/**
 * A histogram whose values come from `server.stats()` instead of `observe()`. prom-client's
 * registry and `get()` both read a histogram through `getForPromString()` (prom-client 15), so
 * that is the one method replaced; the test of `/metrics` checks the exposition.
 */
class SnapshotHistogram extends Histogram<FunctionLabel> {
  constructor(
    private readonly exposedName: string,
    private readonly exposedHelp: string,
    registry: Registry,
    private readonly read: () => ServerStats['rpc']['functions'],
  ) {
    super({
      name: exposedName,
      help: exposedHelp,
      labelNames: ['namespace', 'function'],
      buckets: [...LATENCY_BUCKETS],
      registers: [registry],
    });
  }

  /** The exposition of the histogram (replaces prom-client's own bookkeeping). */
  getForPromString(): Promise<{
    name: string;
    help: string;
    type: string;
    values: { metricName: string; labels: Record<string, string | number>; value: number }[];
    aggregator: string;
  }> {
    const values: {
      metricName: string;
      labels: Record<string, string | number>;
      value: number;
    }[] = [];
    const name = this.exposedName;
    for (const fn of this.read()) {
      const labels = { namespace: fn.namespace, function: fn.name };
      LATENCY_BUCKETS.forEach((bound, index) => {
        values.push({
          metricName: `${name}_bucket`,
          labels: { ...labels, le: bound },
          value: fn.buckets[index] ?? 0,
        });
      });
      values.push({
        metricName: `${name}_bucket`,
        labels: { ...labels, le: '+Inf' },
        value: fn.calls,
      });
      values.push({ metricName: `${name}_sum`, labels, value: fn.durationSeconds });
      values.push({ metricName: `${name}_count`, labels, value: fn.calls });
    }
    return Promise.resolve({
      name,
      help: this.exposedHelp,
      type: 'histogram',
      values,
      aggregator: 'sum',
    });
  }
}

/** The metrics of one server. */
export class ServerMetrics {
  /** The server's own prom-client registry (never the global default one). */
  readonly registry = new Registry();
  private snapshot: ServerStats | undefined;

  constructor(
    private readonly stats: () => ServerStats,
    nodeId: string,
  ) {
    this.registry.setDefaultLabels({ node: nodeId });
    const current = (): ServerStats => {
      this.snapshot ??= this.stats();
      return this.snapshot;
    };
    const { gauge, counter } = statsMetrics(this.registry, current);
    const registers = [this.registry];
    gauge('wsmesh_clients', 'Clients that completed the handshake', (s) => s.clients);
    gauge(
      'wsmesh_sockets',
      'Open sockets, handshaking ones and clone/server links included',
      (s) => s.sockets,
    );
    counter('wsmesh_messages_in_total', 'Messages received from clients', (s) => s.messagesIn);
    counter('wsmesh_publishes_total', 'Group messages published on this node', (s) => s.publishes);
    counter(
      'wsmesh_group_deliveries_total',
      "Group messages delivered to this node's connections (fan-out)",
      (s) => s.deliveries,
    );
    counter(
      'wsmesh_group_messages_too_large_total',
      'Group messages not written to a connection because they exceed the maxPayload it announced',
      (s) => s.groupMessagesTooLarge,
    );
    gauge('wsmesh_groups', 'Groups on this node', (s) => s.groups);
    gauge(
      'wsmesh_subscriptions',
      'Connection-group memberships on this node',
      (s) => s.subscriptions,
    );
    counter(
      'wsmesh_subscriptions_refused_total',
      'Client subscriptions refused by maxGroups or maxSubscriptions',
      (s) => s.subscriptionsRefused,
    );
    counter(
      'wsmesh_rejected_connections_total',
      'Upgrades refused by maxConnections or maxConnectionsPerIp',
      (s) => s.rejectedConnections,
    );
    counter('wsmesh_rate_limited_total', 'Frames refused by rateLimit', (s) => s.rateLimited);
    gauge('wsmesh_clones_known', 'Remote clones this node knows', (s) => s.clones.known);
    gauge('wsmesh_clones_linked', 'Remote clones with a live direct link', (s) => s.clones.linked);
    counter(
      'wsmesh_clone_relayed_out_total',
      'Group messages published here and relayed to other clones',
      (s) => s.clones.relayedOut,
    );
    counter(
      'wsmesh_clone_relayed_in_total',
      'Group messages received from other clones (after de-duplication)',
      (s) => s.clones.relayedIn,
    );
    counter(
      'wsmesh_clone_frames_unsent_total',
      'Clone frames not sent although the link was up (too large for the peer, or not encodable)',
      (s) => s.clones.framesUnsent,
    );
    new Counter({
      name: 'wsmesh_route_messages_total',
      help: 'Messages per route: in = received from clients, out = sent by this node (a group publish once)',
      labelNames: ['route', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const route of current().routes) {
          this.inc({ route: route.route, direction: 'in' }, route.in);
          this.inc({ route: route.route, direction: 'out' }, route.out);
        }
      },
    });
    new Gauge({
      name: 'wsmesh_clone_link_up',
      help: 'Per known clone: 1 when a direct link is up, else 0',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const peer of current().clones.peers)
          this.set({ peer: peer.id }, peer.state === 'linked' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wsmesh_clone_link_latency_seconds',
      help: 'Last measured PING round trip on each direct clone link',
      labelNames: ['peer'],
      registers,
      collect() {
        this.reset();
        for (const peer of current().clones.peers)
          if (peer.latencyMs !== null) this.set({ peer: peer.id }, peer.latencyMs / 1000);
      },
    });
    new Counter({
      name: 'wsmesh_clone_link_relay_frames_total',
      help: 'Relay frames sent to (out) and received from (in) each neighbouring clone',
      labelNames: ['peer', 'direction'],
      registers,
      collect() {
        this.reset();
        for (const peer of current().clones.peers) {
          this.inc({ peer: peer.id, direction: 'out' }, peer.relayFramesOut);
          this.inc({ peer: peer.id, direction: 'in' }, peer.relayFramesIn);
        }
      },
    });
    gauge(
      'wsmesh_server_links',
      'Live RPC server links (createServerProxy, both directions)',
      (s) => s.serverLinks,
    );
    counter('wsmesh_rpc_calls_total', 'RPC calls and streams served', (s) => s.rpc.calls);
    counter('wsmesh_rpc_errors_total', 'RPC calls and streams that failed', (s) => s.rpc.errors);
    gauge('wsmesh_rpc_namespaces', 'Namespaces with local functions', (s) => s.rpc.namespaces);
    const perFunction = (name: string, help: string, pick: 'calls' | 'errors'): void => {
      new Counter({
        name,
        help,
        labelNames: ['namespace', 'function'],
        registers,
        collect() {
          this.reset();
          for (const fn of current().rpc.functions)
            this.inc({ namespace: fn.namespace, function: fn.name }, fn[pick]);
        },
      });
    };
    perFunction(
      'wsmesh_rpc_function_calls_total',
      'RPC calls served per function (run here or forwarded)',
      'calls',
    );
    perFunction('wsmesh_rpc_function_errors_total', 'RPC calls failed per function', 'errors');
    new SnapshotHistogram(
      'wsmesh_rpc_call_duration_seconds',
      'RPC call duration per function, from the call frame to the reply (streams: to the end)',
      this.registry,
      () => current().rpc.functions,
    );
    this.backplaneMetrics(current);
    registerBoundMetrics(this.registry, current);
  }

  /**
   * The backplane's figures (`server.stats().backplane`), labelled with its `kind`; no
   * samples on a server without the `backplane` option.
   */
  private backplaneMetrics(current: () => ServerStats): void {
    const registers = [this.registry];
    const state = (): ServerStats['backplane'] => current().backplane;
    new Gauge({
      name: 'wsmesh_backplane_up',
      help: 'Backplane link: 1 while connected, 0 while connecting, reconnecting or closed',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const b = state();
        if (b !== null) this.set({ kind: b.kind }, b.status === 'connected' ? 1 : 0);
      },
    });
    new Gauge({
      name: 'wsmesh_backplane_info',
      help: 'Backplane state (always 1): kind, status and the engine server in use',
      labelNames: ['kind', 'status', 'server'],
      registers,
      collect() {
        this.reset();
        const b = state();
        if (b !== null) this.set({ kind: b.kind, status: b.status, server: b.server ?? '' }, 1);
      },
    });
    new Gauge({
      name: 'wsmesh_backplane_groups',
      help: 'Groups this node receives through the backplane (it has local members in them)',
      labelNames: ['kind'],
      registers,
      collect() {
        this.reset();
        const b = state();
        if (b !== null) this.set({ kind: b.kind }, b.groups);
      },
    });
    new Counter({
      name: 'wsmesh_backplane_messages_total',
      help: 'Group messages sent to (out) and received from (in) other nodes through the backplane',
      labelNames: ['kind', 'direction'],
      registers,
      collect() {
        this.reset();
        const b = state();
        if (b === null) return;
        this.inc({ kind: b.kind, direction: 'out' }, b.messagesOut);
        this.inc({ kind: b.kind, direction: 'in' }, b.messagesIn);
      },
    });
    new Counter({
      name: 'wsmesh_backplane_calls_total',
      help: 'RPC calls and streams made to (out) and served for (in) other nodes through the backplane',
      labelNames: ['kind', 'direction'],
      registers,
      collect() {
        this.reset();
        const b = state();
        if (b === null) return;
        this.inc({ kind: b.kind, direction: 'out' }, b.callsOut);
        this.inc({ kind: b.kind, direction: 'in' }, b.callsIn);
      },
    });
  }

  /** Content type of {@link text}. */
  get contentType(): string {
    return this.registry.contentType;
  }

  /** The exposition text, from one fresh `stats()` snapshot. */
  async text(): Promise<string> {
    this.snapshot = this.stats();
    try {
      return await this.registry.metrics();
    } finally {
      this.snapshot = undefined;
    }
  }
}
