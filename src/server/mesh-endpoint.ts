/**
 * The `meshEndpoint` server option: clone and server-link peers served apart from clients,
 * the way NATS serves its cluster on its own port, so the client endpoint can face the
 * internet while the mesh endpoint stays on a private network.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/**
 * Where mesh peers (clones, server links) connect. `{ port, host? }`: a listener of its own;
 * `{ path }`: the same http server as clients, on another path. Either way clients and RPC
 * proxies are refused there, and mesh peers on the client endpoint.
 */
export interface MeshEndpointOption {
  /** Port of the mesh listener (0 picks a free one). Default: the client endpoint's http server. */
  port?: number;
  /** Interface of the mesh listener. Default: the server's `host`. */
  host?: string;
  /** URL path of the mesh endpoint. Default: the server's `path` with a port, else required. */
  path?: string;
}

/** `meshEndpoint` after checks. */
export interface ResolvedMeshEndpoint {
  /** Undefined: on the client endpoint's http server. */
  readonly port: number | undefined;
  readonly host: string | undefined;
  readonly path: string;
}

/** Checks `meshEndpoint` against the client endpoint's path. */
export function resolveMeshEndpoint(
  value: unknown,
  clientPath: string,
): ResolvedMeshEndpoint | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError('meshEndpoint must be { port, host? } or { path }');
  }
  const { port, host, path } = value as Record<string, unknown>;
  for (const key of Object.keys(value)) {
    if (key !== 'port' && key !== 'host' && key !== 'path') {
      throw new InvalidOptionError(`meshEndpoint has no option "${key}"`);
    }
  }
  if (
    port !== undefined &&
    !(Number.isInteger(port) && Number(port) >= 0 && Number(port) <= 65535)
  ) {
    throw new InvalidOptionError('meshEndpoint.port must be an integer from 0 to 65535');
  }
  if (host !== undefined && typeof host !== 'string') {
    throw new InvalidOptionError('meshEndpoint.host must be a string');
  }
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('/'))) {
    throw new InvalidOptionError('meshEndpoint.path must be a string starting with "/"');
  }
  if (port === undefined) {
    if (path === undefined || path === clientPath) {
      throw new InvalidOptionError(
        'meshEndpoint needs a port, or a path other than the server path',
      );
    }
    if (host !== undefined) throw new InvalidOptionError('meshEndpoint.host needs a port');
  }
  return {
    port: port as number | undefined,
    host: host as string | undefined,
    path: (path as string | undefined) ?? clientPath,
  };
}
