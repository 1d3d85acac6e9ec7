/**
 * Per-function RPC figures: calls, errors and a latency histogram for every function this
 * server served (ran locally, or forwarded over a link). The server installs one as the RPC
 * responder's observer when metrics or the dashboard are on; `server.stats()` reports it and the
 * Prometheus endpoint exports the same figures. Calls to unknown functions are counted only in
 * the totals, so a client cannot grow the label set by calling made-up names.
 * @module
 */
import type { RpcObserver } from '../rpc/rpc-responder.js';

/** Upper bounds of the latency buckets, in seconds (Prometheus' classic defaults). */
export const LATENCY_BUCKETS: readonly number[] = [
  0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Figures of one function. */
export interface FunctionStats {
  namespace: string;
  name: string;
  /** Calls and streams that finished. */
  calls: number;
  /** Of which failed (threw, rejected, timed out, stream error). */
  errors: number;
  /** Sum of call durations in seconds. */
  durationSeconds: number;
  /**
   * Calls per latency bucket, cumulative as in Prometheus: `buckets[i]` counts calls that took
   * at most `LATENCY_BUCKETS[i]` seconds (the +Inf bucket is `calls`).
   */
  buckets: number[];
}

interface Entry {
  readonly namespace: string;
  readonly name: string;
  calls: number;
  errors: number;
  durationSeconds: number;
  /** Non-cumulative counts; index LATENCY_BUCKETS.length is the overflow bucket. */
  readonly counts: number[];
}

/** Most functions tracked; calls to functions beyond it only count in the totals. */
const MAX_FUNCTIONS = 10_000;

/** Collects per-function call figures. */
export class RpcCallStats implements RpcObserver {
  private readonly entries = new Map<string, Entry>();

  /** Records a finished call of `namespace`/`name` that took `ms` milliseconds. */
  callFinished(namespace: string, name: string, ms: number, ok: boolean): void {
    const key = `${namespace}\u0000${name}`;
    let entry = this.entries.get(key);
    if (entry === undefined) {
      if (this.entries.size >= MAX_FUNCTIONS) return;
      entry = {
        namespace,
        name,
        calls: 0,
        errors: 0,
        durationSeconds: 0,
        counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0),
      };
      this.entries.set(key, entry);
    }
    const seconds = ms / 1000;
    entry.calls++;
    if (!ok) entry.errors++;
    entry.durationSeconds += seconds;
    let index = 0;
    while (index < LATENCY_BUCKETS.length && seconds > (LATENCY_BUCKETS[index] ?? Infinity))
      index++;
    entry.counts[index] = (entry.counts[index] ?? 0) + 1;
  }

  /** A copy of the figures, sorted by namespace and name. */
  snapshot(): FunctionStats[] {
    const result: FunctionStats[] = [];
    for (const entry of this.entries.values()) {
      const buckets: number[] = [];
      let running = 0;
      for (let index = 0; index < LATENCY_BUCKETS.length; index++) {
        running += entry.counts[index] ?? 0;
        buckets.push(running);
      }
      result.push({
        namespace: entry.namespace,
        name: entry.name,
        calls: entry.calls,
        errors: entry.errors,
        durationSeconds: entry.durationSeconds,
        buckets,
      });
    }
    return result.sort((a, b) =>
      a.namespace === b.namespace
        ? a.name.localeCompare(b.name)
        : a.namespace.localeCompare(b.namespace),
    );
  }
}
