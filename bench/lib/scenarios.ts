/**
 * The scenarios the orchestrator can run: which loader, with which counts, and how their
 * metrics are shown.
 * @module
 */
import { s1Config, s2Config } from './config.js';

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
}

/** Scenario ids. */
export type ScenarioName = 's1' | 's2';

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
}

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
  ],
  headline: ['seq.p50Us', 'pipe.callsPerSec', 'pipe.serverCpuUs'],
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

/** Every scenario, in run order. */
export const SCENARIOS: readonly Scenario[] = [S1, S2];
