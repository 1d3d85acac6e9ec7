/**
 * What a client does after its socket closed: redial (at once after a dropped connection,
 * after `reconnectTimeout` after a failed attempt) or give up (`reconnect: false`,
 * `attempts` used up, `failFast` before the first connection, refused authentication).
 * Pure: the connector applies the decision.
 * @module
 */
import { AuthError, NotConnectedError, type WsMeshError } from '../errors.js';
import type { ResolvedClientOptions } from './options.js';

/** The options the decision depends on. */
export type ReconnectOptions = Pick<
  ResolvedClientOptions,
  'reconnect' | 'reconnectTimeout' | 'attempts' | 'failFast'
>;

/** What happened: the close and what came before it. */
export interface ClosedAttempt {
  /** The url that was connected or dialed. */
  url: string;
  /** The connection had been established (WELCOME came). */
  wasOpen: boolean;
  /** Why the attempt failed; undefined after a connection that was open and not refused. */
  failure: WsMeshError | undefined;
  /** Failed attempts in a row, this one included. */
  failedAttempts: number;
  /** A connection was established since `start()`. */
  openedSinceStart: boolean;
  /** Number of urls the client dials in turn. */
  urlCount: number;
}

/** The decision after a close. */
export type AfterClose =
  | { action: 'redial'; delay: number }
  | {
      action: 'give-up';
      error: WsMeshError;
      /** The error was already reported (as the failure of the last attempt). */
      reported: boolean;
    };

/** Decides whether to redial or give up after `closed`. */
export function afterClose(closed: ClosedAttempt, options: ReconnectOptions): AfterClose {
  const { failure, failedAttempts } = closed;
  if (failure !== undefined) {
    // Refused credentials will not fix themselves: stop instead of hanging or retrying.
    if (failure instanceof AuthError) return { action: 'give-up', error: failure, reported: true };
    if (options.failFast && !closed.openedSinceStart && failedAttempts >= closed.urlCount) {
      return { action: 'give-up', error: failure, reported: true };
    }
  }
  if (!options.reconnect) {
    if (failure !== undefined) return { action: 'give-up', error: failure, reported: true };
    return {
      action: 'give-up',
      error: new NotConnectedError(`Connection to ${closed.url} closed and reconnect is off`),
      reported: false,
    };
  }
  if (options.attempts > 0 && failedAttempts >= options.attempts) {
    return {
      action: 'give-up',
      error: new NotConnectedError(
        `Gave up after ${failedAttempts} failed attempts; the last: ${failure?.message ?? 'closed'}`,
        failure?.data,
        { cause: failure },
      ),
      reported: false,
    };
  }
  // A dropped connection is retried at once (on the next url); failed attempts wait.
  return { action: 'redial', delay: closed.wasOpen ? 0 : options.reconnectTimeout };
}
