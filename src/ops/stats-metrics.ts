/**
 * Metrics whose value is read from `server.stats()` when Prometheus scrapes: a gauge is set
 * to the value, a counter to the running total the server already keeps. Shared by
 * metrics.ts and clone-metrics.ts.
 * @module
 */
import { Counter, Gauge, type Registry } from 'prom-client';
import type { ServerStats } from './server-stats.js';

/** Reads one metric's value from a stats snapshot. */
export type StatsReader = (stats: ServerStats) => number;

/** Registers metrics read from the scrape's stats snapshot. */
export interface StatsMetrics {
  /** A gauge set to `read(stats)` at each scrape. */
  gauge(name: string, help: string, read: StatsReader): void;
  /** A counter whose total is `read(stats)` at each scrape (a total the server keeps). */
  counter(name: string, help: string, read: StatsReader): void;
}

/** Metrics on `registry`, read from `current()`, the scrape's snapshot. */
export function statsMetrics(registry: Registry, current: () => ServerStats): StatsMetrics {
  const registers = [registry];
  return {
    gauge(name, help, read) {
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(current()));
        },
      });
    },
    counter(name, help, read) {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          this.inc(read(current()));
        },
      });
    },
  };
}
