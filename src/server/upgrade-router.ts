/**
 * Routes HTTP upgrade requests to the wsmesh endpoint registered for their path, so several
 * endpoints can share one http/https server. Paths nobody registered are answered with 404,
 * unless the http server has other `upgrade` listeners that may want them.
 * @module
 */
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { InvalidOptionError } from '../errors.js';

/** Handles an upgrade request for one path. */
export type UpgradeHandler = (request: IncomingMessage, socket: Duplex, head: Buffer) => void;

type AnyHttpServer = HttpServer | HttpsServer;

interface UpgradeTable {
  endpoints: Map<string, UpgradeHandler>;
  listener: UpgradeHandler;
}

const tables = new WeakMap<AnyHttpServer, UpgradeTable>();

/** Path of a request URL without query string. */
function requestPath(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

/** Writes a plain HTTP error on an upgrade socket and closes it. */
export function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Type: text/plain\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

/** Registers `handler` for upgrades to `path` on `server`. Returns a function that detaches it. */
export function attachEndpoint(
  server: AnyHttpServer,
  path: string,
  handler: UpgradeHandler,
): () => void {
  let table = tables.get(server);
  if (table === undefined) {
    const endpoints = new Map<string, UpgradeHandler>();
    const listener: UpgradeHandler = (request, socket, head) => {
      const endpoint = endpoints.get(requestPath(request.url));
      if (endpoint !== undefined) {
        endpoint(request, socket, head);
        return;
      }
      // Another library may serve this path; answer only when nobody else listens.
      if (server.listenerCount('upgrade') <= 1) rejectUpgrade(socket, 404, 'Not Found');
    };
    table = { endpoints, listener };
    tables.set(server, table);
    server.on('upgrade', listener);
  }
  if (table.endpoints.has(path)) {
    throw new InvalidOptionError(
      `Another wsmesh endpoint already serves path ${path} on this http server`,
    );
  }
  table.endpoints.set(path, handler);
  const owned = table;
  return () => {
    if (owned.endpoints.get(path) !== handler) return;
    owned.endpoints.delete(path);
    if (owned.endpoints.size === 0) {
      server.off('upgrade', owned.listener);
      tables.delete(server);
    }
  };
}
