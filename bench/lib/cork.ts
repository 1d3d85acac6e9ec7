/**
 * One write per socket per tick: the first write of a tick corks the socket, and a single
 * `process.nextTick` uncorks every socket corked during that tick. Used by the raw `ws`
 * contender (server and client), the hand-optimized reference.
 * @module
 */
import type { Duplex } from 'node:stream';

let corkedThisTick: CorkedSocket[] = [];
let flushScheduled = false;

function flush(): void {
  flushScheduled = false;
  const batch = corkedThisTick;
  corkedThisTick = [];
  for (const socket of batch) socket.uncork();
}

/** A TCP socket whose writes are batched until the end of the current tick. */
export class CorkedSocket {
  private corked = false;

  constructor(readonly socket: Duplex) {}

  /** Corks the socket unless it already is for this tick. Call before every write. */
  cork(): void {
    if (this.corked) return;
    this.corked = true;
    this.socket.cork();
    corkedThisTick.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flush);
    }
  }

  /** Writes pre-framed bytes, batched with the other writes of this tick. */
  write(bytes: Buffer): void {
    this.cork();
    this.socket.write(bytes);
  }

  /** @internal Releases the tick's batch. */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
  }
}
