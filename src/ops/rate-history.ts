/**
 * Recent rates for the dashboard's charts: a fixed ring buffer of counter samples (taken every
 * few seconds), turned into per-second rates between consecutive samples on demand.
 * @module
 */

/** Counters sampled from `server.stats()` (monotonic, except `clients`, a gauge). */
export interface CounterSample {
  /** Epoch ms. */
  t: number;
  clients: number;
  messagesIn: number;
  publishes: number;
  deliveries: number;
  rpcCalls: number;
  rpcErrors: number;
  relayedOut: number;
  relayedIn: number;
}

/** Rates between two samples, per second (`clients` is the value at `t`). */
export type RatePoint = CounterSample;

const RATE_KEYS = [
  'messagesIn',
  'publishes',
  'deliveries',
  'rpcCalls',
  'rpcErrors',
  'relayedOut',
  'relayedIn',
] as const;

/** A ring buffer of the last `capacity` samples. */
export class RateHistory {
  private readonly samples: (CounterSample | undefined)[];
  private next = 0;
  private count = 0;

  constructor(readonly capacity: number) {
    this.samples = new Array<CounterSample | undefined>(capacity).fill(undefined);
  }

  /** Adds a sample, dropping the oldest when full. */
  add(sample: CounterSample): void {
    this.samples[this.next] = sample;
    this.next = (this.next + 1) % this.capacity;
    if (this.count < this.capacity) this.count++;
  }

  /** Samples, oldest first. */
  list(): CounterSample[] {
    const result: CounterSample[] = [];
    const start = (this.next - this.count + this.capacity) % this.capacity;
    for (let index = 0; index < this.count; index++) {
      const sample = this.samples[(start + index) % this.capacity];
      if (sample !== undefined) result.push(sample);
    }
    return result;
  }

  /**
   * Per-second rates between consecutive samples, oldest first (one fewer than the samples).
   * A counter that went down (it cannot, unless the server was replaced) counts as 0.
   */
  rates(): RatePoint[] {
    const samples = this.list();
    const points: RatePoint[] = [];
    for (let index = 1; index < samples.length; index++) {
      const previous = samples[index - 1];
      const current = samples[index];
      if (previous === undefined || current === undefined) continue;
      const seconds = Math.max(0.001, (current.t - previous.t) / 1000);
      const point: RatePoint = { ...current };
      for (const key of RATE_KEYS) {
        point[key] = Math.max(0, current[key] - previous[key]) / seconds;
      }
      points.push(point);
    }
    return points;
  }
}
