/**
 * Turns the trials of a scenario into per-contender spreads of every metric.
 * @module
 */
import type { ContenderName } from './contenders.js';
import type { Metrics } from './ipc.js';
import { spread, type Spread } from './stats.js';

/** One trial's outcome. */
export interface TrialRecord {
  round: number;
  contender: ContenderName;
  metrics?: Metrics;
  error?: string;
}

/** Spreads by contender, then by metric key. */
export type Summary = Partial<Record<ContenderName, Record<string, Spread>>>;

/** Median, min and max of each metric over the successful trials of each contender. */
export function summarize(trials: readonly TrialRecord[]): Summary {
  const collected = new Map<ContenderName, Map<string, number[]>>();
  for (const trial of trials) {
    if (trial.metrics === undefined) continue;
    let byKey = collected.get(trial.contender);
    if (byKey === undefined) {
      byKey = new Map();
      collected.set(trial.contender, byKey);
    }
    for (const [key, value] of Object.entries(trial.metrics)) {
      const values = byKey.get(key) ?? [];
      values.push(value);
      byKey.set(key, values);
    }
  }
  const summary: Summary = {};
  for (const [contender, byKey] of collected) {
    const spreads: Record<string, Spread> = {};
    for (const [key, values] of byKey) spreads[key] = spread(values);
    summary[contender] = spreads;
  }
  return summary;
}
