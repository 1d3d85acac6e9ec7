/**
 * Counts and limits of each scenario (full and `--quick`), and the argument each load
 * generator receives, with its guard.
 * @module
 */
import { spawnSync } from 'node:child_process';
import { isContender, type ContenderName } from './contenders.js';

/** S1: request/response over one connection. */
export interface S1Config {
  /** Calls made (sequential, then pipelined) before anything is measured. */
  warmupCalls: number;
  /** Calls made one at a time. */
  sequentialCalls: number;
  /** Calls made with `inFlight` outstanding. */
  pipelinedCalls: number;
  /** Outstanding calls in the pipelined phase. */
  inFlight: number;
  /** Items of the stream phase (contenders that stream: wsmesh-rpc). */
  streamItems: number;
}

/** S2: fan-out from one publisher to many subscribers of one server. */
export interface S2Config {
  /** Subscriber connections (all in one load process). */
  subscribers: number;
  /** Messages published and fully delivered before the measured ones. */
  warmupMessages: number;
  /** Messages measured. */
  messages: number;
  /** Messages published back to back before checking progress. */
  burst: number;
  /** Most messages published but not yet delivered to every subscriber. */
  window: number;
  /** Size of one message's JSON data, bytes. */
  payloadBytes: number;
  /** Deliveries stopping for this long ends the phase (the rest counts as lost). */
  stallMs: number;
}

/** S1 counts. */
export function s1Config(quick: boolean): S1Config {
  return quick
    ? {
        warmupCalls: 1_000,
        sequentialCalls: 2_000,
        pipelinedCalls: 20_000,
        inFlight: 100,
        streamItems: 20_000,
      }
    : {
        warmupCalls: 10_000,
        sequentialCalls: 20_000,
        pipelinedCalls: 200_000,
        inFlight: 100,
        streamItems: 100_000,
      };
}

/**
 * S7 counts: S1's calls across two servers, no stream, a quarter as many (calls across
 * servers are several times slower; the run stays within its time budget).
 */
export function s7Config(quick: boolean): S1Config {
  const s1 = s1Config(quick);
  return {
    warmupCalls: s1.warmupCalls / 2,
    sequentialCalls: s1.sequentialCalls / 4,
    pipelinedCalls: s1.pipelinedCalls / 4,
    inFlight: s1.inFlight,
    streamItems: 0,
  };
}

/** S2 counts. */
export function s2Config(quick: boolean): S2Config {
  return quick
    ? {
        subscribers: 100,
        warmupMessages: 50,
        messages: 300,
        burst: 20,
        window: 100,
        payloadBytes: 100,
        stallMs: 2_000,
      }
    : {
        subscribers: 500,
        // Two million deliveries of warm-up, two million measured. V8 optimizes the hot paths
        // during the first second or so of fan-out (perf: its compiler threads added a fifth to
        // two fifths to a wsmesh server's CPU then, next to nothing after); a shorter warm-up
        // measured that compiling, not the steady state a long-running server is in.
        warmupMessages: 4_000,
        messages: 4_000,
        burst: 20,
        window: 100,
        payloadBytes: 100,
        stallMs: 3_000,
      };
}

/** S3 counts (2 and 4 servers): the S2 workload, the subscribers split evenly over the servers. */
export function s3Config(quick: boolean): S2Config {
  return s2Config(quick);
}

/** S4: idle connections held by one server. */
export interface S4Config {
  /** Connections opened (all in one load process). */
  connections: number;
  /** Connections being opened at a time. */
  concurrency: number;
}

/**
 * Open files allowed per process (`ulimit -n`; with `hard`, `ulimit -Hn`), or undefined
 * when unknown.
 */
export function fileLimit(hard = false): number | undefined {
  const command = hard ? 'ulimit -Hn' : 'ulimit -n';
  const result = spawnSync('sh', ['-c', command], { encoding: 'utf8', timeout: 5_000 });
  const limit = Number(result.stdout.trim());
  return Number.isInteger(limit) && limit > 0 ? limit : undefined;
}

/**
 * The open-file limit a child started through `sh -c 'ulimit -n <wanted>'` gets: `wanted`
 * when allowed (below the hard limit, or as root with CAP_SYS_RESOURCE), else what it had.
 */
export function achievableFileLimit(wanted: number): number | undefined {
  const result = spawnSync('sh', ['-c', `ulimit -n ${wanted} 2>/dev/null; ulimit -n`], {
    encoding: 'utf8',
    timeout: 5_000,
  });
  const limit = Number(result.stdout.trim());
  return Number.isInteger(limit) && limit > 0 ? limit : undefined;
}

let limitNoted = false;

/**
 * S4 counts: 10,000 connections (1,000 with `--quick`), fewer when the open-file limit
 * (each process needs one descriptor per connection, plus some) does not allow them.
 */
export function s4Config(quick: boolean): S4Config {
  const wanted = quick ? 1_000 : 10_000;
  const limit = fileLimit();
  const fits = limit === undefined ? wanted : Math.max(100, limit - 500);
  if (fits < wanted && !limitNoted) {
    limitNoted = true;
    console.log(`note: ulimit -n is ${String(limit)}; S4 opens ${fits} connections, not ${wanted}`);
  }
  return { connections: Math.min(wanted, fits), concurrency: 100 };
}

/** S5: convergence of a clone mesh (every server in one process). */
export interface S5Config {
  /** Mesh sizes measured. */
  sizes: number[];
  /** Repetitions per size (the median is reported). */
  repetitions: number;
  /** Limit of one convergence, ms. */
  limitMs: number;
}

/** S5 counts. */
export function s5Config(quick: boolean): S5Config {
  return quick
    ? { sizes: [4, 16, 32], repetitions: 1, limitMs: 40_000 }
    : { sizes: [4, 16, 32], repetitions: 5, limitMs: 60_000 };
}

/** S6: RPC propagation and per-hop latency along a chain of servers (one process). */
export interface S6Config {
  /** Servers in the chain. */
  chain: number;
  /** Propagation measurements (the median is reported). */
  repetitions: number;
  /** Sequential calls per function for the per-hop latency (after as many warm-up calls). */
  calls: number;
  /** Limit of one propagation, ms. */
  limitMs: number;
}

/** S6 counts. */
export function s6Config(quick: boolean): S6Config {
  return quick
    ? { chain: 5, repetitions: 5, calls: 1_000, limitMs: 10_000 }
    : { chain: 5, repetitions: 15, calls: 10_000, limitMs: 10_000 };
}

/** What a load generator is told: which contender, where, and its counts. */
/** `ports`: every server, the one to publish on first (S3). */
export type LoadArgument<C> = C & { contender: ContenderName; port: number; ports: number[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasCounts(value: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((key) => {
    const count = value[key];
    return typeof count === 'number' && Number.isInteger(count) && count >= 0;
  });
}

function checkLoadArgument<C>(
  value: unknown,
  keys: readonly (keyof C & string)[],
): LoadArgument<C> {
  if (
    !isRecord(value) ||
    !isContender(value.contender) ||
    !hasCounts(value, ['port', ...keys]) ||
    !Array.isArray(value.ports) ||
    !value.ports.every((port) => typeof port === 'number')
  ) {
    throw new Error(`Bad load generator argument: ${JSON.stringify(value)}`);
  }
  return value as LoadArgument<C>;
}

/** Checks the argument of the S1 load generator. */
export function parseS1Argument(value: unknown): LoadArgument<S1Config> {
  return checkLoadArgument<S1Config>(value, [
    'warmupCalls',
    'sequentialCalls',
    'pipelinedCalls',
    'inFlight',
    'streamItems',
  ]);
}

/** Checks the argument of the S2 load generator. */
export function parseS2Argument(value: unknown): LoadArgument<S2Config> {
  return checkLoadArgument<S2Config>(value, [
    'subscribers',
    'warmupMessages',
    'messages',
    'burst',
    'window',
    'payloadBytes',
    'stallMs',
  ]);
}

/** Checks the argument of the S5 loader. */
export function parseS5Argument(value: unknown): LoadArgument<S5Config> {
  const checked = checkLoadArgument<S5Config>(value, ['repetitions', 'limitMs']);
  if (!Array.isArray(checked.sizes) || !checked.sizes.every((size) => Number.isInteger(size))) {
    throw new Error(`Bad S5 sizes: ${JSON.stringify(value)}`);
  }
  return checked;
}

/** Checks the argument of the S6 loader. */
export function parseS6Argument(value: unknown): LoadArgument<S6Config> {
  return checkLoadArgument<S6Config>(value, ['chain', 'repetitions', 'calls', 'limitMs']);
}

/** Checks the argument of the S4 loader. */
export function parseS4Argument(value: unknown): LoadArgument<S4Config> {
  return checkLoadArgument<S4Config>(value, ['connections', 'concurrency']);
}
