/**
 * Signs of life of one connection: whether anything arrived since the heartbeat's last tick,
 * how many ticks in a row were silent, and the round trip of timed PINGs.
 * @module
 */

/** What the heartbeat and the ops views know about a connection's peer being alive. */
export class Liveness {
  private heard = false;
  private silentTicks = 0;
  /** `performance.now()` when the timed PING in flight was sent; 0 when none is. */
  private pingSentAt = 0;
  private lastRtt: number | undefined;

  /** Something arrived since the last tick. */
  get heardSinceTick(): boolean {
    return this.heard;
  }

  /** Round trip of the last timed PING in ms; undefined until one returned. */
  get rttMs(): number | undefined {
    return this.lastRtt;
  }

  /** Something arrived from the peer. */
  heardFrom(): void {
    this.heard = true;
  }

  /** A heartbeat starts watching: the peer counts as just heard from. */
  start(): void {
    this.heard = true;
    this.silentTicks = 0;
  }

  /** One heartbeat tick passed: returns the ticks in a row with nothing received (0 if any). */
  tick(): number {
    if (this.heard) {
      this.heard = false;
      this.silentTicks = 0;
    } else {
      this.silentTicks++;
    }
    return this.silentTicks;
  }

  /** A PING went out at `now`; it is timed unless a timed one is already in flight. */
  pingSent(now: number): void {
    if (this.pingSentAt === 0) this.pingSentAt = now;
  }

  /** A PONG came back at `now`: the timed PING's round trip is measured. */
  pongReceived(now: number): void {
    if (this.pingSentAt === 0) return;
    this.lastRtt = now - this.pingSentAt;
    this.pingSentAt = 0;
  }
}
