/**
 * Event maps of the Socket.IO contender, shared by its server and client.
 * @module
 */
import type { AddArgs, FanoutData } from './payload.js';

/** Events a Socket.IO client sends. */
export interface ClientToServerEvents {
  /** S1 call: acknowledged with `a + b` (or null for bad input). */
  add: (args: AddArgs, ack: (sum: number | null) => void) => void;
  /** S2: join the fan-out room. */
  sub: (ack: (ok: boolean) => void) => void;
  /** S2: publish to the room. */
  pub: (data: FanoutData) => void;
}

/** Events a Socket.IO server sends. */
export interface ServerToClientEvents {
  /** S2 fan-out message. */
  m: (data: FanoutData) => void;
}

/** Events between Socket.IO servers (through the Redis adapter; S7). */
export interface InterServerEvents {
  /** A call forwarded to the server that answers `add` (the first): `a + b` there, null elsewhere. */
  add: (args: AddArgs, ack: (sum: number | null) => void) => void;
}
