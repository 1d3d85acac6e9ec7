/**
 * The cost curves (`npm run bench -- --curves`): each measures wsmesh as one variable grows
 * with everything else fixed, one fresh trial (server and loader processes) per point.
 * @module
 */
import { achievableFileLimit, fileLimit } from './config.js';
import type { ContenderName } from './contenders.js';
import { padFor } from './payload.js';

/** Curve ids. */
export type CurveName = 'subscribers' | 'groups' | 'payload' | 'connections' | 'clones' | 'hops';

/** Every curve, in run order. */
export const CURVE_NAMES: readonly CurveName[] = [
  'subscribers',
  'groups',
  'payload',
  'connections',
  'clones',
  'hops',
];

/** What one point runs. */
export interface CurveTrial {
  loaderScript: string;
  loaderConfig: object;
  /** Server processes (0: the loader starts its own servers). */
  servers: number;
  timeoutMs: number;
  /** Ports the server listens on (connections past one port's ephemeral range). */
  listeners?: number;
  /** Open-file limit the processes need. */
  fileLimit?: number;
}

/** Connections one load process opens to one destination port, at most (of ~28,000). */
const PER_PORT = 25_000;
/** Descriptors a process needs beyond its connections. */
const SPARE_FILES = 1_000;

/**
 * `wanted` connections, or as many as the open-file limit allows: raised for the children
 * as far as this machine lets a process raise it (the hard limit; beyond it only with
 * CAP_SYS_RESOURCE), else the point is capped and says so.
 */
function connectionsTrial(wanted: number): CurveTrial {
  const limit = achievableFileLimit(wanted + SPARE_FILES) ?? fileLimit() ?? 1_024;
  const connections = Math.min(wanted, limit - SPARE_FILES);
  if (connections < wanted) {
    console.log(
      `note: ulimit -n can only be raised to ${limit}: ${connections} connections, not ${wanted}`,
    );
  }
  const needed = connections + SPARE_FILES;
  return {
    loaderScript: 'bench/clients/idle-load.ts',
    loaderConfig: { connections, concurrency: 100 },
    servers: 1,
    timeoutMs: 900_000,
    listeners: Math.ceil(connections / PER_PORT),
    ...(needed > (fileLimit() ?? 0) ? { fileLimit: needed } : {}),
  };
}

/** A column of a curve's table. */
export interface CurveColumn {
  key: string;
  label: string;
  digits: number;
}

/** One curve. */
export interface CurveSpec {
  name: CurveName;
  title: string;
  /** Name of the variable (first column, x axis). */
  variable: string;
  points(quick: boolean): number[];
  /** wsmesh, and the batched raw ws as a reference line where it does the same work. */
  contenders: ContenderName[];
  trial(x: number, quick: boolean): CurveTrial;
  /** The value a point really measures, when a limit of the machine caps it (default `x`). */
  actual?(x: number): number;
  /** Figures computed from a point's metrics (added to them). */
  derive?(x: number, metrics: Record<string, number>): Record<string, number>;
  columns: CurveColumn[];
  /** The plotted figure: a cost per unit of the variable, flat while growth is linear. */
  cost: { key: string; label: string };
  /** Why the curve has the shape it has: written next to its table. */
  why: string;
}

function column(key: string, label: string, digits: number): CurveColumn {
  return { key, label, digits };
}

function clamp(value: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, Math.round(value)));
}

/** Size of the JSON of one fan-out message padded to `bytes`. */
export function messageBytes(bytes: number): number {
  return JSON.stringify({ seq: 100000, pad: padFor(bytes) }).length;
}

/**
 * The S2 workload with `subscribers` and `payloadBytes`: as many messages as give about
 * `deliveries` deliveries, and a window (messages not yet delivered everywhere) bounded so at
 * most ~`inFlightBytes` wait in buffers, whatever the point.
 */
function fanout(
  subscribers: number,
  payloadBytes: number,
  deliveries: number,
  inFlightBytes: number,
): CurveTrial {
  const window = clamp(inFlightBytes / (subscribers * messageBytes(payloadBytes)), 2, 100);
  return {
    loaderScript: 'bench/clients/fanout-load.ts',
    loaderConfig: {
      subscribers,
      warmupMessages: Math.min(window * 2, 200),
      messages: clamp(deliveries / subscribers, 20, 20_000),
      burst: Math.min(20, window),
      window,
      payloadBytes,
      stallMs: 5_000,
    },
    servers: 1,
    timeoutMs: 300_000,
  };
}

const FANOUT_COLUMNS = [
  column('deliveriesPerSec', 'deliveries/s', 0),
  column('serverCpuUs', 'server CPU us/delivery', 3),
  column('clientCpuUs', 'client CPU us/delivery', 3),
  column('lossPct', 'loss %', 2),
];

const SUBSCRIBERS: CurveSpec = {
  name: 'subscribers',
  title: 'Subscribers per group',
  variable: 'subscribers',
  points: (quick) => (quick ? [10, 100, 1_000] : [10, 30, 100, 300, 1_000, 3_000, 10_000]),
  contenders: ['wsmesh', 'ws-batched'],
  trial: (x, quick) => fanout(x, 100, quick ? 60_000 : 400_000, 5_000_000),
  columns: [
    ...FANOUT_COLUMNS,
    column('rssKbPerConn', 'server RSS KB/subscriber', 2),
    column('heapKbPerConn', 'server heap+ext KB/subscriber', 2),
    column('connectMs', 'connect+subscribe all, ms', 0),
  ],
  cost: { key: 'serverCpuUs', label: 'server CPU us per delivery' },
  why: 'A message to a group is encoded and framed once, then written to each subscriber (one write per subscriber per tick, the messages of a tick in one batch), so the server CPU per delivery should stay flat as subscribers grow. Two things move it: below ~100 subscribers the per-message work (decode, validate, encode, frame) is shared by few deliveries, so the cost per delivery is higher at the left end; at the right end the window of undelivered messages is scaled down to keep ~5 MB in flight (50 messages at 1,000 subscribers, 5 at 10,000), so fewer messages share a tick and a batch, and each subscriber gets more, smaller writes. The batched raw ws line has the same two effects; the distance between the lines is what wsmesh adds.',
};

const PAYLOAD: CurveSpec = {
  name: 'payload',
  title: 'Payload size',
  variable: 'payload bytes (JSON data)',
  points: (quick) => (quick ? [16, 1_024, 65_536] : [16, 256, 1_024, 4_096, 16_384, 65_536]),
  contenders: ['wsmesh', 'ws-batched'],
  // About 400 MB delivered per point (40 MB with --quick), at most 200,000 deliveries.
  trial: (x, quick) =>
    fanout(50, x, Math.min(200_000, ((quick ? 40 : 400) * 1e6) / messageBytes(x)), 2_000_000),
  derive: (x, metrics) => ({
    bytes: messageBytes(x),
    mbPerSec: ((metrics.deliveriesPerSec ?? 0) * messageBytes(x)) / 1e6,
    serverCpuNsPerByte: ((metrics.serverCpuUs ?? 0) * 1000) / messageBytes(x),
  }),
  columns: [
    column('bytes', 'message bytes', 0),
    ...FANOUT_COLUMNS,
    column('mbPerSec', 'MB/s delivered', 1),
    column('serverCpuNsPerByte', 'server CPU ns/byte', 3),
  ],
  cost: { key: 'serverCpuNsPerByte', label: 'server CPU ns per delivered byte' },
  why: 'Fan-out to 50 subscribers. Small messages cost their per-message work (parse, validate, encode, frame, write) and nothing per byte, so the CPU per byte falls steeply as they grow; from a few KiB up the cost per delivery becomes the copy and the UTF-8 handling of the bytes, and the CPU per byte levels off. Above 64 KiB in one tick a batch leaves alone (wsmesh caps batches at 64 KiB), so a 64 KiB message is one WebSocket message per subscriber, like the raw ws line. The smallest point is the smallest message of this shape ({"seq":…,"pad":""}, 23 bytes).',
};

const GROUPS: CurveSpec = {
  name: 'groups',
  title: 'Groups per connection',
  variable: 'groups per connection',
  points: (quick) => (quick ? [1, 10, 100] : [1, 10, 100, 300, 1_000]),
  contenders: ['wsmesh'],
  trial: (x, quick) => ({
    loaderScript: 'bench/clients/curve-groups.ts',
    loaderConfig: { connections: quick ? 20 : 100, groups: x, messages: quick ? 200 : 1_000 },
    servers: 1,
    timeoutMs: 300_000,
  }),
  columns: [
    column('memberships', 'memberships', 0),
    column('heapBytesPerMembership', 'server heap+ext bytes/membership', 0),
    column('joinUsPerMembership', 'join wall us/membership', 1),
    column('joinCpuUsPerMembership', 'join server CPU us/membership', 2),
    column('leaveCpuUsPerMembership', 'leave server CPU us/membership', 2),
    column('deliveriesPerSec', 'fan-out to one group, deliveries/s', 0),
    column('serverCpuUs', 'server CPU us/delivery', 3),
  ],
  cost: { key: 'joinCpuUsPerMembership', label: 'server CPU us per join' },
  why: 'Every connection (100) joins the same G groups, one SUBSCRIBE request each, then a publisher sends to one of them. A membership is an entry in the group’s subscriber set and one in the connection’s group set, so memory and the CPU of a join or a leave per membership should stay flat, and fan-out to one group should not care how many other groups its subscribers are in. At G = 1 the per-membership figures carry the fixed cost of the first group (the group object itself). A join is a request and its reply, one at a time per connection, so its server CPU is mostly that round trip (a WebSocket message read and one written, about what one sequential call costs in S1), plus, over the first few thousand, the compiler warming up; the server’s own work per membership, measured with 1,000 subscribes in flight per connection, is about 2 us. A leave is the close of the connection, without a message per membership.',
};

const CONNECTIONS: CurveSpec = {
  name: 'connections',
  title: 'Connections held',
  variable: 'connections',
  points: (quick) =>
    quick ? [1_000, 2_000, 5_000] : [1_000, 2_000, 5_000, 10_000, 20_000, 50_000],
  contenders: ['wsmesh', 'ws-batched'],
  trial: (x) => connectionsTrial(x),
  actual: (x) => Math.min(x, (achievableFileLimit(x + SPARE_FILES) ?? x) - SPARE_FILES),
  derive: (_x, metrics) => ({
    acceptPerSec: ((metrics.connections ?? 0) * 1000) / Math.max(metrics.acceptMs ?? 1, 1),
  }),
  columns: [
    column('connections', 'held', 0),
    column('errors', 'connect errors', 0),
    column('acceptPerSec', 'accepted/s', 0),
    column('rssKbPerConn', 'server RSS KB/conn', 2),
    column('heapKbPerConn', 'server heap+ext KB/conn', 2),
  ],
  cost: { key: 'heapKbPerConn', label: 'server heap+external KB per connection' },
  why: 'Connections opened 100 at a time from one load process, memory per connection as the slope over the last five of ten steps, each after a forced GC (the first steps also pay one-time costs, bench/README.md S4). An idle connection is its socket, the ws object and the wsmesh connection state; nothing is per pair of connections, so the memory per connection should stay flat and the accept rate should not fall. The accept rate is bounded by the load process, which runs a full wsmesh client per connection. Points above the open-file limit (ulimit -n, raised for the children when the bench runs as root) or the ephemeral port range of one destination (ip_local_port_range, about 28,000) are capped, and the table says how many were held.',
};

const CLONES: CurveSpec = {
  name: 'clones',
  title: 'Nodes: clone mesh and NATS backplane (one process)',
  variable: 'nodes',
  points: (quick) => (quick ? [2, 4, 8, 16] : [2, 4, 8, 16, 32]),
  contenders: ['wsmesh', 'wsmesh-nats'],
  trial: (x, quick) => ({
    loaderScript: 'bench/clients/curve-clones.ts',
    loaderConfig: { clones: x, limitMs: 60_000, idleMs: quick ? 4_000 : 10_000 },
    servers: 0,
    timeoutMs: 180_000,
  }),
  derive: (_x, metrics) => ({
    idleIoBytesPerClonePerSec:
      (metrics.idleBytesPerClonePerSec ?? 0) + (metrics.idleReadBytesPerClonePerSec ?? 0),
  }),
  columns: [
    column('links', 'links', 0),
    column('linksPerClone', 'links/node', 0),
    column('idleBytesPerClonePerSec', 'idle bytes written/node/s', 0),
    column('idleReadBytesPerClonePerSec', 'idle bytes read/node/s', 0),
    column('heapKbPerClone', 'heap+ext KB/node', 1),
    column('rssKbPerClone', 'RSS KB/node', 1),
    column('knowMs', 'all know all, ms', 0),
    column('linkMs', 'all linked, ms', 0),
  ],
  cost: {
    key: 'idleIoBytesPerClonePerSec',
    label: 'idle bytes written + read per node per second',
  },
  why: "The mesh links every clone to every other: links grow as N(N-1)/2 and each clone holds N-1 of them, with a record of every other clone. Idle, each link carries a heartbeat per heartbeat interval and a compact CLONE_DIGEST per clone interval (2 s): the count and a hash of the versions the sender knows, the full [id, version] list only when they differ (PROTOCOL.md 2.8). Both are flat per link, and a clone holds N-1 links, so idle bytes per clone grow linearly in N (about 16 bytes written per link per second). On NATS a node holds one connection (to the broker), writes one heartbeat per interval and reads the N-1 heartbeats of the others, which NATS fans out: reads per node grow linearly with N, writes stay flat (nats-server's own cost is not counted here). Memory per node grows slowly with N on both (a record of every other node). Where the two lines cross is where the NATS shape starts to cost less per node than the mesh. Convergence here runs every node in one process, on one thread, so its time is the total work: on the mesh N(N-1)/2 link handshakes and a CLONE_SYNC with every record on each new link (across machines that work spreads over N processes); on NATS the nodes see each other from their hello and heartbeats.",
};

const HOPS: CurveSpec = {
  name: 'hops',
  title: 'RPC hops',
  variable: 'hops',
  points: (quick) => (quick ? [1, 2, 4] : [1, 2, 3, 4, 5, 6]),
  contenders: ['wsmesh'],
  trial: (x, quick) => ({
    loaderScript: 'bench/clients/curve-hops.ts',
    loaderConfig: { hops: x, calls: quick ? 500 : 5_000, streamItems: quick ? 10_000 : 50_000 },
    servers: 0,
    timeoutMs: 180_000,
  }),
  derive: (x, metrics) => ({
    streamUsPerItem: 1e6 / Math.max(metrics.streamItemsPerSec ?? 1, 1) / x,
  }),
  columns: [
    column('nearP50Us', 'local call p50 us', 1),
    column('farP50Us', 'call H hops away p50 us', 1),
    column('perHopUs', 'per hop us', 1),
    column('streamItemsPerSec', 'stream items/s', 0),
    column('streamUsPerItem', 'stream us/item/hop', 3),
  ],
  cost: { key: 'perHopUs', label: 'call latency per hop, us' },
  why: 'A chain of servers in one process (createServerProxy to the previous one), the caller at one end and the function at the other. Each hop forwards the call and the reply over one more link, so latency grows by a constant per hop and the per-hop figure should stay flat. A stream is flow-controlled end to end, and every hop runs on the same event loop here, so items/s fall roughly as 1/H (the per-item cost per hop stays flat); across machines the hops would run in parallel.',
};

/** Every curve, in run order. */
export const CURVES: readonly CurveSpec[] = [
  SUBSCRIBERS,
  GROUPS,
  PAYLOAD,
  CONNECTIONS,
  CLONES,
  HOPS,
];
