/**
 * The metrics of the mesh's bounds at work (part of `/metrics`, see metrics.ts): records held
 * and refused by `maxClones`, what became of addressed clone frames, resumes running and
 * waiting. Each value is read from the scrape's `server.stats()` snapshot.
 * @module
 */
import { Counter, type Registry } from 'prom-client';
import type { ServerStats } from './server-stats.js';
import { statsMetrics } from './stats-metrics.js';

/** Names of the metrics registered by {@link registerBoundMetrics}. */
export const BOUND_METRIC_NAMES = [
  'wsmesh_clone_records',
  'wsmesh_clone_records_refused_total',
  'wsmesh_clone_addressed_forwarded_total',
  'wsmesh_clone_addressed_dropped_total',
  'wsmesh_resumes_running',
  'wsmesh_resumes_waiting',
] as const;

/** Registers the bound metrics on `registry`; `current` is the scrape's snapshot. */
export function registerBoundMetrics(registry: Registry, current: () => ServerStats): void {
  const registers = [registry];
  const { gauge, counter } = statsMetrics(registry, current);
  gauge(
    'wsmesh_clone_records',
    'Records of other clones held (at most maxClones, plus clones linked or added here)',
    (s) => s.clones.records,
  );
  counter(
    'wsmesh_clone_records_refused_total',
    'Records and names of clones refused by maxClones',
    (s) => s.clones.refused,
  );
  counter(
    'wsmesh_clone_addressed_forwarded_total',
    'Addressed clone frames (acknowledgements, presence) passed on towards another clone',
    (s) => s.clones.addressed.forwarded,
  );
  new Counter({
    name: 'wsmesh_clone_addressed_dropped_total',
    help: 'Addressed clone frames dropped: unknown_origin (no path to their sender), looping, fetch_paced (identical presence fetches too fast)',
    labelNames: ['reason'],
    registers,
    collect() {
      this.reset();
      const { addressed } = current().clones;
      this.inc({ reason: 'unknown_origin' }, addressed.unknownOrigin);
      this.inc({ reason: 'looping' }, addressed.looping);
      this.inc({ reason: 'fetch_paced' }, addressed.fetchesPaced);
    },
  });
  gauge('wsmesh_resumes_running', 'Resumes running now', (s) => s.history.resumesRunning);
  gauge(
    'wsmesh_resumes_waiting',
    'Resumes waiting for a slot of their connection',
    (s) => s.history.resumesWaiting,
  );
}
