/**
 * The types of client events and `getInfo()`, apart from the client so the parts that emit
 * and report them do not import it.
 * @module
 */
import type { WsMeshError } from '../errors.js';

/**
 * Payloads of client events, for a client of type `C`. The client instantiates it with
 * itself (`ClientEvents`), so the connector can emit them without importing the client.
 */
export interface ClientEventMap<C> {
  /** `start()` was called. */
  start: { client: C };
  /** A connection is established (after every reconnect too). */
  open: { client: C; url: string; serverId: string };
  /** A connection closed. */
  close: { client: C; url: string; code: number; reason: string };
  /** The client stopped (by `stop()`, or after giving up reconnecting). */
  stop: { client: C };
  /**
   * A connection attempt failed (Socket.IO's `connect_error`): `error` says why (refused,
   * DNS, HTTP status, TLS, timeout, authentication) and keeps the socket's error as
   * `error.cause`; `attempt` counts the failures in a row. `error` is emitted too.
   */
  connect_error: { client: C; error: WsMeshError; url: string; attempt: number };
  /**
   * Something went wrong: a failed connection attempt (as `connect_error`), a refused
   * subscription, a bad frame, a throwing listener...
   */
  error: { client: C; error: Error };
  /**
   * A group was resumed after a reconnect (or `subscribe({ id, since })`): what was missed
   * has been delivered. `recovered: false` means messages were lost for good (history too
   * short, a node's stream lost): resync the group.
   */
  recover: { client: C; group: string; recovered: boolean };
  /**
   * A member joined the presence of a group this client subscribed to with
   * `presence: true` (never this client itself).
   */
  join: { client: C; group: string; clientId: string; data: unknown; node: string };
  /** A member left that presence (unsubscribed, disconnected, or its node died). */
  leave: { client: C; group: string; clientId: string; data: unknown; node: string };
}

/** What `getInfo()` reports. */
export interface ClientInfo {
  id: string;
  /** Url of the current (or next) connection. */
  url: string | undefined;
  urls: string[];
  state: ClientState;
  connected: boolean;
  serverId: string | undefined;
  connectionId: string | undefined;
  codec: string | undefined;
  groups: string[];
  /** Frames waiting for a connection. */
  queued: number;
  /** Requests awaiting a reply on the current connection. */
  pending: number;
  /** Failed connection attempts in a row. */
  failedAttempts: number;
}

/** Lifecycle states of a client. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';
