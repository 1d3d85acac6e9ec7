/**
 * Counts S2 deliveries across all subscribers, checks per-subscriber order, and lets the
 * publisher wait until a delivery total is reached (or deliveries stall).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { seqOf } from '../lib/payload.js';

/** Delivery bookkeeping of one load process. */
export class DeliveryCounter {
  /** Deliveries so far (every subscriber, every message). */
  total = 0;
  /** Deliveries whose seq was below the subscriber's previous one (reordered). */
  outOfOrder = 0;
  /** Deliveries of a seq the subscriber already had (not counted in `total`). */
  duplicates = 0;
  /** Messages without a readable seq. */
  invalid = 0;
  /** `performance.now()` when the total last grew, as seen by the stall check. */
  lastProgressAt = 0;

  private readonly lastSeq: Float64Array;
  /** Seqs seen, a bit per (subscriber, seq) below `maxSeq`. */
  private readonly seen: Uint8Array;
  private target = Infinity;
  private reached: (() => void) | undefined;

  constructor(
    subscribers: number,
    private readonly maxSeq = 0,
  ) {
    this.lastSeq = new Float64Array(subscribers).fill(-1);
    this.seen = new Uint8Array(Math.ceil((subscribers * maxSeq) / 8));
  }

  /** Records that subscriber `index` got `data`. */
  receive(index: number, data: unknown): void {
    const seq = seqOf(data);
    if (seq === undefined) {
      this.invalid++;
      return;
    }
    if (Number.isInteger(seq) && seq >= 0 && seq < this.maxSeq) {
      const bit = index * this.maxSeq + seq;
      const byte = bit >>> 3;
      const mask = 1 << (bit & 7);
      if (((this.seen[byte] ?? 0) & mask) !== 0) {
        this.duplicates++;
        return;
      }
      this.seen[byte] = (this.seen[byte] ?? 0) | mask;
    }
    if (seq < (this.lastSeq[index] ?? -1)) this.outOfOrder++;
    this.lastSeq[index] = seq;
    this.total++;
    if (this.total >= this.target) {
      const reached = this.reached;
      this.target = Infinity;
      this.reached = undefined;
      reached?.();
    }
  }

  /**
   * Resolves true once `target` deliveries were counted, false when the total did not grow
   * for `stallMs`.
   */
  waitForTotal(target: number, stallMs: number): Promise<boolean> {
    if (this.total >= target) return Promise.resolve(true);
    return new Promise((resolve) => {
      let seen = this.total;
      let since = performance.now();
      const timer = setInterval(() => {
        const now = performance.now();
        if (this.total !== seen) {
          seen = this.total;
          since = now;
          this.lastProgressAt = now;
        } else if (now - since > stallMs) {
          clearInterval(timer);
          this.target = Infinity;
          this.reached = undefined;
          resolve(false);
        }
      }, 20);
      this.target = target;
      this.reached = () => {
        clearInterval(timer);
        this.lastProgressAt = performance.now();
        resolve(true);
      };
    });
  }
}
