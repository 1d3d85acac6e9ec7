/**
 * Opening a node's NATS connection: loads the optional NATS client, passes the connection
 * options through, and turns NATS' failures into wsmesh errors with a clear message
 * (unreachable, refused credentials, denied subjects).
 * @module
 */
import type { connect, NatsConnection, NodeConnectionOptions } from '@nats-io/transport-node';
import { AuthError, InvalidOptionError, NotConnectedError, type WsMeshError } from '../errors.js';
import type { ResolvedNatsOptions } from './options.js';

/** Ms between reconnect attempts to the NATS cluster. */
const RECONNECT_WAIT = 500;

/** Loads the NATS client, which is an optional peer dependency of wsmesh. */
async function loadNats(): Promise<{ connect: typeof connect }> {
  try {
    return await import('@nats-io/transport-node');
  } catch (error) {
    throw new InvalidOptionError(
      'backplane: wsmesh/nats needs the NATS client (npm install @nats-io/transport-node)',
      { cause: error },
    );
  }
}

/**
 * Connects to NATS. Rejects with `NotConnectedError` when no server answers within
 * `connectTimeout`, with `AuthError` when NATS refuses the credentials. Once connected, the
 * client reconnects forever (to any server of the NATS cluster, including those it learns
 * from NATS itself) and buffers publishes meanwhile.
 */
export async function connectNats(
  options: ResolvedNatsOptions,
  nodeId: string,
): Promise<NatsConnection> {
  const nats = await loadNats();
  const connectOptions: NodeConnectionOptions = {
    servers: options.servers,
    name: options.name ?? `wsmesh-${nodeId}`,
    noEcho: true,
    timeout: options.connectTimeout,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: RECONNECT_WAIT,
    // Request replies (function tables) stay under the prefix, the one subject tree
    // operators grant a node.
    inboxPrefix: `${options.prefix}._INBOX`,
  };
  if (options.token !== undefined) connectOptions.token = options.token;
  if (options.user !== undefined) connectOptions.user = options.user;
  if (options.pass !== undefined) connectOptions.pass = options.pass;
  if (options.tls !== undefined) connectOptions.tls = options.tls;
  try {
    return await nats.connect(connectOptions);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    if (/auth/i.test(message))
      throw new AuthError(`NATS refused this node's credentials: ${message}`, undefined, {
        cause: error,
      });
    throw new NotConnectedError(
      `Cannot reach NATS at ${options.servers.join(', ')}: ${message}`,
      undefined,
      { cause: error },
    );
  }
}

/** True for NATS' report that this connection may not publish or subscribe to a subject. */
export function isPermissionError(error: unknown): boolean {
  return error instanceof Error && error.name === 'PermissionViolationError';
}

/** The wsmesh error for a subject NATS denied this node. */
export function permissionError(error: Error, prefix: string): WsMeshError {
  return new AuthError(
    `NATS denied this node a subject it needs (${error.message}): grant publish and subscribe on "${prefix}.>" (docs/backplane.md)`,
    undefined,
    { cause: error },
  );
}
