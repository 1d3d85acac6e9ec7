/**
 * Clone frames addressed to one clone (frames 50-53: acknowledgements and presence). They
 * travel like relays, along the sender's shortest path; a clone that is not the addressee
 * passes the frame on towards it, never back over the link it came on.
 *
 * Two guards, without a wire change (the frames carry no hop count):
 * - a frame whose `from` this clone cannot reach is dropped, forwarded or not: every clone that
 *   sends one is in the records (its own record, or a record that lists a link to it), which
 *   reach each clone before the frames that clone sends after them. Made-up origins thus cost
 *   no state anywhere.
 * - a frame that keeps passing this clone is dropped ({@link LoopGuard}): while two clones
 *   disagree on routes a frame can circle, and without a hop count only its repetition shows.
 * @module
 */
import type { CloneAddressedFrame } from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';
import type { RouteTable } from './routes.js';

/** Passes of one frame a clone forwards at once before it counts them against the rate. */
export const LOOP_BURST = 16;
/** Passes per second of one frame that a clone keeps forwarding after the burst. */
export const LOOP_RATE = 16;
/** Frames the loop guard remembers; the least recently passed are forgotten first. */
export const LOOP_ENTRIES = 4096;

interface Bucket {
  tokens: number;
  at: number;
}

/** 32-bit FNV-1a of `text`, continued from `hash`. */
function fnv(hash: number, text: string): number {
  let h = hash;
  for (let index = 0; index < text.length; index++) {
    h ^= text.charCodeAt(index);
    h = Math.imul(h, 0x01000193);
  }
  // A separator, so ['ab', 'c'] and ['a', 'bc'] differ.
  return Math.imul(h ^ 0xff, 0x01000193);
}

/**
 * A fingerprint of an addressed frame: its type, addresses and fields (presence entries by key
 * and client id; their data is left out, so frames that differ only in data count as one).
 */
export function fingerprint(frame: CloneAddressedFrame): number {
  const parts: string[] = [];
  for (let index = 0; index < frame.length; index++) {
    const field = frame[index];
    if (Array.isArray(field)) {
      parts.push(`#${field.length}`);
      for (const item of field as readonly unknown[]) {
        if (Array.isArray(item)) parts.push(String(item[0]), String(item[1]));
        else parts.push(String(item));
      }
    } else parts.push(String(field));
  }
  let low = 0x811c9dc5;
  let high = 0x01234567;
  for (const part of parts) {
    low = fnv(low, part);
    high = fnv(high, part);
  }
  // 53 bits: a safe integer, so the map key is a number and not a long string.
  return (high >>> 0) * 0x200000 + ((low >>> 0) & 0x1fffff);
}

/**
 * Counts how often each frame passes this clone, as a token bucket per fingerprint: a frame
 * may pass {@link LOOP_BURST} times at once and {@link LOOP_RATE} times a second after that.
 * A frame caught in a loop passes at the speed of the links and runs dry after about
 * {@link LOOP_BURST} rounds; it is then dropped and the loop is over (nothing re-creates it).
 * Identical frames sent on purpose (a presence member that flaps, a group whose presence is
 * polled) pass as long as they come slower than the rate. Memory: at most
 * {@link LOOP_ENTRIES} buckets. Presence uses another one to pace its answers to repeated
 * fetches (clone-presence.ts).
 */
export class LoopGuard {
  private readonly buckets = new Map<number | string, Bucket>();
  /** Frames dropped as looping, since start. */
  dropped = 0;

  constructor(
    private readonly now: () => number = Date.now,
    /** Passes at once. */
    private readonly burst = LOOP_BURST,
    /** Passes a second after the burst. */
    private readonly rate = LOOP_RATE,
  ) {}

  /** Number of frames remembered. */
  get size(): number {
    return this.buckets.size;
  }

  /** True when `frame` may pass once more; false when it passed too often of late. */
  pass(frame: CloneAddressedFrame): boolean {
    return this.take(fingerprint(frame));
  }

  /** True when what `key` names may pass once more (a bucket per key, as for frames). */
  take(key: number | string): boolean {
    const now = this.now();
    const bucket = this.buckets.get(key);
    let tokens = this.burst;
    if (bucket !== undefined) {
      tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) * this.rate) / 1000);
      // Moved to the end: the map's order is the order of last passes.
      this.buckets.delete(key);
    }
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: now });
      this.dropped++;
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, at: now });
    if (this.buckets.size > LOOP_ENTRIES) {
      const oldest = this.buckets.keys().next();
      if (oldest.done !== true) this.buckets.delete(oldest.value);
    }
    return true;
  }
}

/** Sends and forwards addressed frames. */
export class AddressedFrames {
  /** Frames passed on for other clones, since start. */
  forwarded = 0;
  /** Frames dropped because their `from` is no clone this one can reach, since start. */
  unknownOrigin = 0;
  readonly loops = new LoopGuard();

  constructor(
    private readonly selfId: string,
    private readonly links: ReadonlyMap<string, CloneLink>,
    private readonly routes: RouteTable,
  ) {}

  /** True when clone `id` can be reached now (a live link or a path through other clones). */
  reachable(id: string): boolean {
    return this.routes.hop(id) !== undefined;
  }

  /** Sends `frame` towards its addressee (`frame[2]`); false when there is no path. */
  send(frame: CloneAddressedFrame): boolean {
    const hop = this.routes.hop(frame[2]);
    if (hop === undefined) return false;
    return this.links.get(hop)?.send(frame) ?? false;
  }

  /**
   * A frame that arrived on `from`: true when it is for this clone; otherwise it is passed on
   * (dropped when the only way on is back, there is none, or it keeps coming round).
   */
  arrived(from: CloneLink, frame: CloneAddressedFrame): boolean {
    // Its origin must be a clone this one can reach: not a made-up id, and not this clone
    // (one of its own frames that came back while routes changed).
    if (frame[1] === this.selfId || !this.reachable(frame[1])) {
      this.unknownOrigin++;
      return false;
    }
    const to = frame[2];
    if (to === this.selfId) return true;
    const hop = this.routes.hop(to);
    if (hop === undefined || hop === from.peerId || !this.loops.pass(frame)) return false;
    const link = this.links.get(hop);
    if (link !== undefined && link.send(frame)) this.forwarded++;
    return false;
  }
}
