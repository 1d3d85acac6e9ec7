/**
 * Duplicate suppression for relayed messages: per origin, a sliding window of recently seen
 * sequence numbers (a bitmap), like an anti-replay window. Constant memory per origin.
 * @module
 */

const WINDOW = 8192;

interface OriginWindow {
  max: number;
  bits: Uint8Array;
  touched: number;
}

/** Remembers which `(origin, seq)` pairs were seen. */
export class SeenWindow {
  private readonly origins = new Map<string, OriginWindow>();

  /** Marks `(origin, seq)` seen; returns true if it had been seen before (a duplicate). */
  check(origin: string, seq: number, now: number): boolean {
    let window = this.origins.get(origin);
    if (window === undefined) {
      window = { max: seq, bits: new Uint8Array(WINDOW / 8), touched: now };
      this.origins.set(origin, window);
      setBit(window.bits, seq);
      return false;
    }
    window.touched = now;
    if (seq > window.max) {
      // Clear the slots the window slides over.
      const advance = seq - window.max;
      if (advance >= WINDOW) window.bits.fill(0);
      else for (let s = window.max + 1; s <= seq; s++) clearBit(window.bits, s);
      window.max = seq;
      setBit(window.bits, seq);
      return false;
    }
    if (seq <= window.max - WINDOW) return true; // too old to tell: treat as seen
    if (getBit(window.bits, seq)) return true;
    setBit(window.bits, seq);
    return false;
  }

  /** Forgets origins not heard from since `before`. */
  sweep(before: number): void {
    for (const [origin, window] of this.origins) {
      if (window.touched < before) this.origins.delete(origin);
    }
  }

  /** Number of tracked origins. */
  get size(): number {
    return this.origins.size;
  }
}

function slot(seq: number): [number, number] {
  const index = seq % WINDOW;
  return [index >>> 3, 1 << (index & 7)];
}

function setBit(bits: Uint8Array, seq: number): void {
  const [byte, mask] = slot(seq);
  bits[byte] = (bits[byte] ?? 0) | mask;
}

function clearBit(bits: Uint8Array, seq: number): void {
  const [byte, mask] = slot(seq);
  bits[byte] = (bits[byte] ?? 0) & ~mask;
}

function getBit(bits: Uint8Array, seq: number): boolean {
  const [byte, mask] = slot(seq);
  return ((bits[byte] ?? 0) & mask) !== 0;
}
