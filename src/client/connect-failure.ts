/**
 * Why a connection attempt failed, in words a user can act on: the error a client reports
 * (`error` and `connect_error` events, the rejection of `start()`) names the url and the
 * cause (refused, DNS, HTTP status, TLS, timeout, authentication), and keeps the underlying
 * error as `error.cause`.
 * @module
 */
import { AuthError, NotConnectedError, WsMeshError } from '../errors.js';
import { CloseCode } from '../protocol/frames.js';

/**
 * What went wrong, as `error.data.reason` of a failed connection attempt tells it:
 * - `refused`: nothing accepts connections at that host and port;
 * - `dns`: the host name does not resolve;
 * - `http`: the server answered with an HTTP status instead of upgrading (`data.status`;
 *   404 usually means a wrong path);
 * - `tls`: the TLS handshake failed (untrusted or expired certificate, wrong name, `wss://`
 *   to a plain port...);
 * - `timeout`: no answer within `handshakeTimeout`;
 * - `auth`: the server refused the credentials or the secret (the error is an `AuthError`);
 * - `handshake`: the server refused the wsmesh handshake (version, subprotocol...);
 * - `network`: any other socket error (reset, unreachable; browsers give no details);
 * - `closed`: the server closed the connection before it was established.
 */
export type ConnectFailureReason =
  'refused' | 'dns' | 'http' | 'tls' | 'timeout' | 'auth' | 'handshake' | 'network' | 'closed';

/** `data` of the error a failed connection attempt reports. */
export interface ConnectFailureData {
  /** The url dialed. */
  url: string;
  /** What went wrong. */
  reason: ConnectFailureReason;
  /** The HTTP status, when the server answered one instead of upgrading. */
  status?: number;
  /** The close code of the socket. */
  closeCode: number;
}

const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NONAME', 'EAI_FAIL', 'EAI_NODATA']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'ERR_TIMEOUT']);

function errorCode(error: Error): string | undefined {
  const { code } = error as { code?: unknown };
  return typeof code === 'string' ? code : undefined;
}

function httpStatus(error: Error): number | undefined {
  const { status } = error as { status?: unknown };
  if (typeof status === 'number') return status;
  // What `ws` says when nobody handled the response (kept for other dialers built on it).
  const match = /^Unexpected server response: (\d{3})/.exec(error.message);
  return match === null ? undefined : Number(match[1]);
}

function classify(cause: Error | undefined): { reason: ConnectFailureReason; status?: number } {
  if (cause === undefined) return { reason: 'closed' };
  if (cause instanceof AuthError) return { reason: 'auth' };
  const status = httpStatus(cause);
  if (status !== undefined) return { reason: 'http', status };
  const code = errorCode(cause);
  if (code === 'ECONNREFUSED') return { reason: 'refused' };
  if (code !== undefined && DNS_CODES.has(code)) return { reason: 'dns' };
  if (code !== undefined && TIMEOUT_CODES.has(code)) return { reason: 'timeout' };
  if (/timed out/i.test(cause.message)) return { reason: 'timeout' };
  if (code !== undefined && (/CERT|SSL|TLS/.test(code) || code === 'EPROTO')) {
    return { reason: 'tls' };
  }
  // Browsers report socket errors as a NotConnectedError without details.
  if (cause instanceof WsMeshError && !(cause instanceof NotConnectedError)) {
    return { reason: 'handshake' };
  }
  return { reason: 'network' };
}

function describe(reason: ConnectFailureReason, status: number | undefined, cause: Error): string {
  const detail = cause.message;
  switch (reason) {
    case 'refused':
      return `connection refused (${detail}): is the server running, on this host and port?`;
    case 'dns':
      return `host not found (${detail})`;
    case 'http':
      return `the server answered HTTP ${String(status)} instead of upgrading (${detail})${status === 404 ? ': is the path right?' : ''}`;
    case 'tls':
      return `TLS failed (${detail})`;
    case 'timeout':
      return `timed out (${detail})`;
    case 'auth':
      return `authentication refused (${detail})`;
    case 'handshake':
      return `the server refused the handshake (${detail})`;
    default:
      return detail;
  }
}

/**
 * The error a failed attempt to reach `url` reports. `cause` is what the socket or server
 * said, when anything did; the close code and reason are used otherwise. An `AuthError`
 * stays an `AuthError`; anything else becomes a `NotConnectedError`.
 */
export function connectFailure(
  url: string,
  cause: Error | undefined,
  closeCode: number,
  closeReason: string,
): WsMeshError {
  const refusedAuth =
    cause === undefined && closeCode === CloseCode.AUTH_FAILED
      ? new AuthError(closeReason === '' ? 'Authentication refused' : closeReason)
      : cause;
  const { reason, status } = classify(refusedAuth);
  const data: ConnectFailureData = { url, reason, closeCode };
  if (status !== undefined) data.status = status;
  if (refusedAuth === undefined) {
    const closed = `the server closed the connection before it was established (${closeCode}${closeReason === '' ? '' : ` ${closeReason}`})`;
    return new NotConnectedError(`Could not connect to ${url}: ${closed}`, data);
  }
  const message = `Could not connect to ${url}: ${describe(reason, status, refusedAuth)}`;
  const options = { cause: refusedAuth };
  return reason === 'auth'
    ? new AuthError(message, data, options)
    : new NotConnectedError(message, data, options);
}
