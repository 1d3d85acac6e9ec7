/**
 * The scenarios the orchestrator can run: which loader, with which counts, and how their
 * metrics are shown.
 * @module
 */
import { s1Config, s2Config, s3Config, s4Config, s5Config, s6Config, s7Config } from './config.js';
import type { ContenderName } from './contenders.js';

/** How one metric is shown. */
export interface MetricSpec {
  /** Key in the loader's metrics. */
  key: string;
  /** Column header. */
  label: string;
  /** Digits after the decimal point. */
  digits: number;
  /** Header of a ratio column (median / median of raw ws); none when undefined. */
  ratio: string | undefined;
}

/** A table of one scenario. */
export interface TableSpec {
  title: string;
  metrics: MetricSpec[];
  /** Only these contenders get a row (default: every contender run). */
  contenders?: ContenderName[];
  /** The contender ratios are computed against (default: raw ws). */
  baseline?: ContenderName;
}

/** Scenario ids. */
export type ScenarioName = 's1' | 's2' | 's3' | 's3x4' | 's4' | 's5' | 's6' | 's7';

/** Every scenario id, in run order. */
export const SCENARIO_NAMES: readonly ScenarioName[] = [
  's1',
  's2',
  's3',
  's3x4',
  's4',
  's5',
  's6',
  's7',
];

/** One scenario. */
export interface Scenario {
  name: ScenarioName;
  title: string;
  loaderScript: string;
  config(quick: boolean): object;
  timeoutMs(quick: boolean): number;
  tables: TableSpec[];
  /** Metrics printed after each trial. */
  headline: string[];
  /** The contenders this scenario applies to (default: {@link DEFAULT_SCENARIO_CONTENDERS}). */
  contenders?: ContenderName[];
  /** Server processes per trial (default 1; 0: the loader starts its own servers). */
  servers?: number;
  /** Socket.IO needs a redis-server (started by the orchestrator). */
  needsRedis?: boolean;
}

/** Contenders of a scenario that does not say. */
export const DEFAULT_SCENARIO_CONTENDERS: ContenderName[] = [
  'ws',
  'ws-batched',
  'socket.io',
  'rpc-websockets',
  'nats',
  'nats-ws',
  'wsmesh',
];

function metric(key: string, label: string, digits: number, ratio?: string): MetricSpec {
  return { key, label, digits, ratio };
}

const S1: Scenario = {
  name: 's1',
  title: 'S1 request/response over one connection',
  loaderScript: 'bench/clients/rpc-load.ts',
  config: s1Config,
  timeoutMs: (quick) => (quick ? 30_000 : 90_000),
  tables: [
    {
      title: 'S1 sequential (one call at a time)',
      metrics: [
        metric('seq.p50Us', 'p50 us', 1, 'p50 vs ws'),
        metric('seq.p99Us', 'p99 us', 1),
        metric('seq.callsPerSec', 'calls/s', 0, 'calls/s vs ws'),
        metric('seq.serverCpuUs', 'server CPU us/call', 2, 'server CPU vs ws'),
        metric('seq.clientCpuUs', 'client CPU us/call', 2),
      ],
    },
    {
      title: 'S1 pipelined (100 calls in flight)',
      metrics: [
        metric('pipe.callsPerSec', 'calls/s', 0, 'calls/s vs ws'),
        metric('pipe.serverCpuUs', 'server CPU us/call', 2, 'server CPU vs ws'),
        metric('pipe.clientCpuUs', 'client CPU us/call', 2, 'client CPU vs ws'),
      ],
    },
    {
      title: 'S1 stream (async generator over RpcProxy, consumed with for-await)',
      metrics: [
        metric('stream.itemsPerSec', 'items/s', 0),
        metric('stream.serverCpuUs', 'server CPU us/item', 3),
        metric('stream.clientCpuUs', 'client CPU us/item', 3),
      ],
      contenders: ['wsmesh-rpc'],
    },
  ],
  headline: ['seq.p50Us', 'pipe.callsPerSec', 'pipe.serverCpuUs'],
  contenders: [...DEFAULT_SCENARIO_CONTENDERS, 'wsmesh-rpc'],
};

const S2: Scenario = {
  name: 's2',
  title: 'S2 fan-out on one server',
  loaderScript: 'bench/clients/fanout-load.ts',
  config: s2Config,
  timeoutMs: (quick) => (quick ? 60_000 : 180_000),
  tables: [
    {
      title: 'S2 fan-out (1 publisher, subscribers in one process, ~100-byte messages)',
      metrics: [
        metric('deliveriesPerSec', 'deliveries/s', 0, 'deliveries/s vs ws'),
        metric('lossPct', 'loss %', 3),
        metric('outOfOrder', 'out of order', 0),
        metric('serverCpuUs', 'server CPU us/delivery', 3, 'server CPU vs ws'),
        metric('clientCpuUs', 'client CPU us/delivery', 3),
      ],
    },
    {
      title: 'S2 idle subscribed connections (server memory)',
      metrics: [
        metric('rssKbPerConn', 'RSS KB/conn', 1, 'RSS vs ws'),
        metric('heapKbPerConn', 'heap+external KB/conn', 1, 'heap+ext vs ws'),
        metric('connectMs', 'connect+subscribe all, ms', 0),
      ],
    },
  ],
  headline: ['deliveriesPerSec', 'serverCpuUs', 'lossPct', 'rssKbPerConn'],
};

/** S3 over `servers` server processes: `s3` with 2, `s3x4` with 4. */
function crossServerFanout(name: ScenarioName, servers: number): Scenario {
  const share =
    servers === 2 ? 'half the' : servers === 4 ? 'a quarter of the' : `1/${servers} of the`;
  const all = servers === 2 ? 'both' : `all ${servers}`;
  return {
    name,
    title: `S3 fan-out across ${servers} servers`,
    loaderScript: 'bench/clients/fanout-load.ts',
    config: s3Config,
    timeoutMs: (quick) => (quick ? 60_000 : 180_000),
    tables: [
      {
        title: `S3 cross-server fan-out (${servers} server processes, ${share} subscribers on each, publisher on the first)`,
        metrics: [
          metric('deliveriesPerSec', 'deliveries/s', 0, 'deliveries/s vs ws relay'),
          metric('lossPct', 'loss %', 3),
          metric('duplicates', 'duplicates', 0),
          metric('outOfOrder', 'out of order', 0),
          metric('serverCpuUs', `server CPU us/delivery (${all})`, 3, 'server CPU vs ws relay'),
          metric('clientCpuUs', 'client CPU us/delivery', 3),
        ],
      },
    ],
    headline: ['deliveriesPerSec', 'serverCpuUs', 'lossPct', 'duplicates'],
    contenders: ['ws', 'ws-batched', 'socket.io', 'nats', 'wsmesh', 'wsmesh-nats'],
    servers,
    needsRedis: true,
  };
}

const S3 = crossServerFanout('s3', 2);
const S3X4 = crossServerFanout('s3x4', 4);

const S4: Scenario = {
  name: 's4',
  title: 'S4 idle connections on one server',
  loaderScript: 'bench/clients/idle-load.ts',
  config: s4Config,
  timeoutMs: (quick) => (quick ? 90_000 : 300_000),
  tables: [
    {
      title: 'S4 idle connections (one load process, server memory after a forced GC)',
      metrics: [
        metric('connections', 'connections held', 0),
        metric('errors', 'connect errors', 0),
        metric('acceptMs', 'time to accept all, ms', 0, 'time vs ws'),
        metric('rssKbPerConn', 'RSS KB/conn', 1, 'RSS vs ws'),
        metric('heapKbPerConn', 'heap+external KB/conn', 1, 'heap+ext vs ws'),
      ],
    },
  ],
  headline: ['connections', 'errors', 'acceptMs', 'rssKbPerConn'],
  // NATS over WebSocket is left out to keep the full run under 25 minutes (its idle cost is
  // NATS over TCP's plus the WebSocket layer: a few KB more per connection in smoke runs).
  contenders: DEFAULT_SCENARIO_CONTENDERS.filter((name) => name !== 'nats-ws'),
};

const S5: Scenario = {
  name: 's5',
  title: 'S5 clone mesh convergence (wsmesh only)',
  loaderScript: 'bench/clients/converge.ts',
  config: s5Config,
  timeoutMs: (quick) => (quick ? 120_000 : 600_000),
  tables: [
    {
      title:
        'S5 convergence: N clones in one process, each told only its predecessor (addClone chain), cloneInterval 2000 ms',
      metrics: [
        metric('n4.knowMs', '4: all know all, ms', 1),
        metric('n4.linkMs', '4: all linked, ms', 1),
        metric('n16.knowMs', '16: all know all, ms', 1),
        metric('n16.linkMs', '16: all linked, ms', 1),
        metric('n32.knowMs', '32: all know all, ms', 1),
        metric('n32.linkMs', '32: all linked, ms', 1),
      ],
    },
  ],
  headline: ['n4.knowMs', 'n16.knowMs', 'n32.knowMs', 'n32.linkMs'],
  contenders: ['wsmesh'],
  servers: 0,
};

const S6: Scenario = {
  name: 's6',
  title: 'S6 RPC cluster chain (wsmesh only)',
  loaderScript: 'bench/clients/rpc-chain.ts',
  config: s6Config,
  timeoutMs: (quick) => (quick ? 60_000 : 180_000),
  tables: [
    {
      title:
        'S6 chain of 5 servers (one process): origin() on one end until callable from a proxy at the other; latency per forwarding hop',
      metrics: [
        metric('propagationMs', 'propagation median, ms', 2),
        metric('propagationMaxMs', 'propagation max, ms', 2),
        metric('localP50Us', 'local call p50 us', 1),
        metric('farP50Us', '4 hops away p50 us', 1),
        metric('perHopUs', 'per hop us (p50)', 1),
        metric('perHopMeanUs', 'per hop us (mean)', 1),
      ],
    },
  ],
  headline: ['propagationMs', 'perHopUs'],
  contenders: ['wsmesh'],
  servers: 0,
};

const S7: Scenario = {
  name: 's7',
  title: 'S7 RPC across 2 servers',
  loaderScript: 'bench/clients/rpc-load.ts',
  config: s7Config,
  timeoutMs: (quick) => (quick ? 60_000 : 120_000),
  tables: [
    {
      title:
        'S7 RPC across servers: the function on the first server, the caller connected to the second (wsmesh: clone mesh or NATS backplane; Socket.IO: serverSideEmitWithAck over its Redis adapter; NATS: request/reply across 2 routed nats-servers)',
      metrics: [
        metric('seq.p50Us', 'sequential p50 us', 1, 'p50 vs mesh'),
        metric('seq.callsPerSec', 'sequential calls/s', 0),
        metric('pipe.callsPerSec', 'calls/s, 100 in flight', 0, 'calls/s vs mesh'),
        metric('pipe.serverCpuUs', 'server CPU us/call (all)', 2, 'server CPU vs mesh'),
      ],
      baseline: 'wsmesh-rpc',
    },
  ],
  headline: ['seq.p50Us', 'pipe.callsPerSec', 'pipe.serverCpuUs'],
  contenders: ['socket.io', 'nats', 'wsmesh-rpc', 'wsmesh-nats'],
  servers: 2,
  needsRedis: true,
};

/** Every scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [S1, S2, S3, S3X4, S4, S5, S6, S7];
