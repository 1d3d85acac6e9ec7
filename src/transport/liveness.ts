/**
 * Signs of life of one connection, kept small because every idle connection has them: the
 * heartbeat's beat, one small integer the connection stores (whether anything arrived since
 * the heartbeat's last tick, and how many ticks in a row were silent), and the round trip of
 * timed PINGs, an object of its own made by the first timed PING (only links time theirs).
 * @module
 */

/** Bit of a beat: something arrived since the last tick. The silent ticks are the bits above. */
const HEARD = 1;

/** The beat of a connection a heartbeat starts watching: it counts as just heard from. */
export const BEAT_STARTED = HEARD;

/** The beat once something arrived from the peer. */
export function beatHeard(beat: number): number {
  return beat | HEARD;
}

/** The beat after one heartbeat tick: silent ticks reset when something arrived, else grow. */
export function beatTicked(beat: number): number {
  return (beat & HEARD) !== 0 ? 0 : beat + 2;
}

/** Ticks in a row with nothing received. */
export function silentTicks(beat: number): number {
  return beat >>> 1;
}

/** The round trip of timed PINGs. */
export class RoundTrip {
  /** `performance.now()` when the timed PING in flight was sent; 0 when none is. */
  private sentAt = 0;
  /** Round trip of the last timed PING in ms; undefined until one returned. */
  last: number | undefined;

  /** A PING went out at `now`; it is timed unless a timed one is already in flight. */
  pingSent(now: number): void {
    if (this.sentAt === 0) this.sentAt = now;
  }

  /** A PONG came back at `now`: the timed PING's round trip is measured. */
  pongReceived(now: number): void {
    if (this.sentAt === 0) return;
    this.last = now - this.sentAt;
    this.sentAt = 0;
  }
}
