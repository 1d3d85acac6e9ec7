/**
 * Heartbeats with one interval timer for any number of connections. A connection that
 * received nothing for a whole tick is sent a PING; one that stays silent for the next tick
 * too is considered dead and torn down. Receiving any frame counts as a sign of life, so busy
 * connections never exchange PINGs. Works the same in browsers, where WebSocket control
 * frames are invisible to scripts.
 * @module
 */
import { CloseCode } from '../protocol/frames.js';
import type { Connection } from './connection.js';

/**
 * Lists the connections a monitor watches, for an owner that already keeps them all (a set
 * entry per connection fewer): every connection it lists and that is not closed is watched.
 */
export type WatchedConnections = () => Iterable<Connection>;

/** Watches a set of connections for silence. */
export class HeartbeatMonitor {
  /** The connections watched; none when `watched` lists them. */
  private readonly connections: Set<Connection> | undefined;
  private timer: ReturnType<typeof setInterval> | undefined;

  /**
   * @param intervalMs tick length; a dead peer is detected after 2 to 3 ticks of silence.
   * @param timed the PINGs measure the round trip (`rttMs`); untimed ones keep nothing more
   * per connection, for connections whose round trip nobody reads.
   * @param watched lists the watched connections instead of a set kept here: then `add` only
   * starts watching a connection the list has, and `delete` does nothing (the list decides).
   */
  constructor(
    readonly intervalMs: number,
    private readonly timed = true,
    private readonly watched?: WatchedConnections,
  ) {
    this.connections = watched === undefined ? new Set() : undefined;
  }

  /** Number of connections watched. */
  get size(): number {
    if (this.connections !== undefined) return this.connections.size;
    let size = 0;
    for (const connection of this.list()) if (!connection.closed) size++;
    return size;
  }

  /** Starts watching `connection`. */
  add(connection: Connection): void {
    connection.heartbeatStart();
    this.connections?.add(connection);
    if (this.timer === undefined && this.intervalMs > 0) {
      this.timer = setInterval(() => this.tick(), this.intervalMs);
      if (typeof this.timer === 'object' && typeof this.timer.unref === 'function') {
        this.timer.unref();
      }
    }
  }

  /** Stops watching `connection`. */
  delete(connection: Connection): void {
    if (this.connections === undefined) return;
    this.connections.delete(connection);
    if (this.connections.size === 0) this.stop();
  }

  /** Stops the timer (connections are forgotten). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
    this.connections?.clear();
  }

  private list(): Iterable<Connection> {
    return this.connections ?? this.watched?.() ?? [];
  }

  private tick(): void {
    let watching = 0;
    for (const connection of this.list()) {
      if (connection.closed) {
        this.connections?.delete(connection);
        continue;
      }
      const silentTicks = connection.heartbeatTick();
      if (silentTicks >= 2) {
        this.connections?.delete(connection);
        connection.terminate(CloseCode.HEARTBEAT_TIMEOUT, 'heartbeat timeout');
        continue;
      }
      watching++;
      if (silentTicks === 0) continue;
      try {
        // Timed, idle links get their round trip measured for free.
        connection.ping(this.timed);
      } catch {
        // Closed or slow consumer: handled by the connection itself.
      }
    }
    if (watching === 0) this.stop();
  }
}
