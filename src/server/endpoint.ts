/**
 * The network side of a server: its http server (its own, or one it attaches to), the checks
 * an upgrade request passes (server running, `maxConnections`, subprotocol), the `ws`
 * WebSocketServer that completes it, and taking it all down again.
 * @module
 */
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { InvalidOptionError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { Subprotocol } from '../protocol/codec.js';
import { codecForSubprotocol, loadCodec } from '../protocol/codecs.js';
import type { ResolvedServerOptions } from './options.js';
import type { ServerConnection } from './server-connection.js';
import { attachEndpoint, rejectUpgrade } from './upgrade-router.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';

import type { StartOptions } from './server-types.js';

export type { StartOptions };

const START_OPTION_KEYS: OptionKeys<StartOptions> = { skipUTF8Validation: true, backlog: true };
/** Server options people pass to `start()` by mistake. */
const START_HINTS = Object.fromEntries(
  ['server', 'port', 'host', 'path'].map((name) => [name, `give it to new Server({ ${name} })`]),
);

/** What the endpoint reads of its server. */
export interface EndpointHost {
  /** Upgrades are refused (503) unless the server runs. */
  readonly active: boolean;
  readonly options: ResolvedServerOptions;
  /** Serves the ops endpoints; false for any other request. */
  handleHttp(request: IncomingMessage, response: ServerResponse): boolean;
}

/**
 * Which endpoint a connection came in on: `any` when the server has one endpoint for every
 * kind of peer; `public` (clients) or `mesh` (clones, links) with a `meshEndpoint`.
 */
export type EndpointEntry = 'any' | 'public' | 'mesh';

/** Takes over a WebSocket whose upgrade the endpoint completed. */
export type AcceptSocket = (
  ws: WebSocket,
  socket: Duplex,
  request: IncomingMessage,
  codec: Codec,
  entry: EndpointEntry,
) => void;

/**
 * Error listener of sockets during their upgrade (removed once `ws` owns the socket). A module
 * function, not a closure: a closure made in the upgrade handler would keep its whole scope
 * (the upgrade request with its headers and streams) alive.
 */
function destroySocket(this: Duplex): void {
  this.destroy();
}

/** The http server and WebSocketServer of one wsmesh server. */
export class ServerEndpoint {
  /** Upgrades refused by `maxConnections` or `maxConnectionsPerIp`. */
  rejectedConnections = 0;
  /** Open sockets per remote address, kept only when `maxConnectionsPerIp` is set. */
  private readonly perIp = new Map<string, number>();
  /** Port actually listened on, once started. */
  port: number | undefined;
  /** Address actually listened on (`::` or `0.0.0.0` for every interface), once started. */
  address: string | undefined;
  /** `start({ skipUTF8Validation: true })`: text messages are decoded without a check. */
  trustTextFrames = false;
  private wss: WebSocketServer | undefined;
  private httpServer: HttpServer | HttpsServer | undefined;
  private ownHttpServer = false;
  private detachUpgrades: (() => void) | undefined;
  /** The mesh endpoint's own http server, when `meshEndpoint` has a port. */
  private meshHttpServer: HttpServer | undefined;
  private detachMesh: (() => void) | undefined;
  /** Port of the mesh endpoint's own listener, once started. */
  meshPort: number | undefined;

  constructor(
    private readonly host: EndpointHost,
    /** Open sockets of the server, counted against `maxConnections`. */
    private readonly sockets: ReadonlySet<ServerConnection>,
    private readonly accept: AcceptSocket,
  ) {}

  /**
   * Listens (own port) or attaches to the configured http/https server. Upgrades are refused
   * until the host is active.
   */
  async open(startOptions: StartOptions): Promise<void> {
    if (typeof startOptions !== 'object' || startOptions === null) {
      throw new InvalidOptionError('start() options must be an object');
    }
    if ('perMessageDeflate' in startOptions) {
      throw new InvalidOptionError(
        'perMessageDeflate is not supported: fan-out writes pre-framed bytes to every socket',
      );
    }
    refuseUnknownOptions(startOptions, START_OPTION_KEYS, 'server.start()', START_HINTS);
    const { options } = this.host;
    this.trustTextFrames = startOptions.skipUTF8Validation === true;
    // Both codecs are always accepted; loading them here keeps the upgrade path synchronous.
    await Promise.all([loadCodec('json'), loadCodec('msgpack')]);
    const chosen = new WeakMap<IncomingMessage, Codec>();
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: options.maxPayload,
      perMessageDeflate: false,
      clientTracking: false,
      // Text is validated while it is decoded, in one pass (transport/utf8.ts).
      skipUTF8Validation: true,
      handleProtocols: (_protocols, request) => chosen.get(request)?.subprotocol ?? false,
    });
    const upgradeHandler =
      (entry: EndpointEntry) =>
      (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
        if (!this.host.active) {
          rejectUpgrade(socket, 503, 'Service Unavailable');
          return;
        }
        if (options.maxConnections > 0 && this.sockets.size >= options.maxConnections) {
          this.rejectedConnections++;
          rejectUpgrade(socket, 503, 'Service Unavailable: too many connections');
          return;
        }
        const codec = pickCodec(request.headers['sec-websocket-protocol'], options.codec);
        if (codec === undefined) {
          rejectUpgrade(
            socket,
            400,
            `Unsupported subprotocol; use ${Subprotocol.json} or ${Subprotocol.msgpack}`,
          );
          return;
        }
        if (
          options.maxConnectionsPerIp > 0 &&
          !this.admitAddress(socket, options.maxConnectionsPerIp)
        ) {
          this.rejectedConnections++;
          rejectUpgrade(socket, 429, 'Too Many Requests: too many connections from this address');
          return;
        }
        chosen.set(request, codec);
        socket.on('error', destroySocket);
        wss.handleUpgrade(request, socket, head, (ws) => {
          // From here `ws` handles the socket's errors; a second listener would only cost
          // every idle connection a listener array.
          socket.removeListener('error', destroySocket);
          this.accept(ws, socket, request, codec, entry);
        });
      };
    const mesh = options.meshEndpoint;
    let httpServer = options.server;
    if (httpServer === undefined) {
      httpServer = createServer((request, response) => {
        if (this.host.handleHttp(request, response)) return;
        response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
        response.end('This is a wsmesh WebSocket endpoint\n');
      });
      this.ownHttpServer = true;
    }
    const detachClients = attachEndpoint(
      httpServer,
      options.path,
      upgradeHandler(mesh === undefined ? 'any' : 'public'),
    );
    const detachMesh =
      mesh === undefined || mesh.port !== undefined
        ? undefined
        : attachEndpoint(httpServer, mesh.path, upgradeHandler('mesh'));
    const detach = (): void => {
      detachClients();
      detachMesh?.();
    };
    try {
      if (this.ownHttpServer) {
        await listen(httpServer, options.port, options.host, startOptions.backlog);
      }
      if (mesh?.port !== undefined) {
        const meshServer = createServer((_request, response) => {
          response.writeHead(426, { 'Content-Type': 'text/plain', Upgrade: 'websocket' });
          response.end('This is a wsmesh mesh endpoint\n');
        });
        const detachOwn = attachEndpoint(meshServer, mesh.path, upgradeHandler('mesh'));
        await listen(meshServer, mesh.port, mesh.host ?? options.host, startOptions.backlog);
        const meshAddress = meshServer.address();
        this.meshPort =
          typeof meshAddress === 'object' && meshAddress !== null ? meshAddress.port : undefined;
        this.meshHttpServer = meshServer;
        this.detachMesh = detachOwn;
      }
    } catch (error) {
      detach();
      if (this.ownHttpServer) {
        this.ownHttpServer = false;
        httpServer.close();
      }
      throw error;
    }
    const address = httpServer.address();
    this.port = typeof address === 'object' && address !== null ? address.port : undefined;
    this.address = typeof address === 'object' && address !== null ? address.address : undefined;
    this.wss = wss;
    this.httpServer = httpServer;
    this.detachUpgrades = detach;
  }

  /**
   * Counts a socket against its address's `maxConnectionsPerIp` until it closes; false when
   * the address already has `limit` open sockets.
   */
  private admitAddress(socket: Duplex, limit: number): boolean {
    const address = (socket as Duplex & { remoteAddress?: string }).remoteAddress;
    if (address === undefined) return true;
    const open = this.perIp.get(address) ?? 0;
    if (open >= limit) return false;
    this.perIp.set(address, open + 1);
    socket.once('close', () => {
      const left = (this.perIp.get(address) ?? 1) - 1;
      if (left > 0) this.perIp.set(address, left);
      else this.perIp.delete(address);
    });
    return true;
  }

  /** Stops taking upgrades (first step of stopping; open sockets are closed after it). */
  detach(): void {
    this.detachUpgrades?.();
    this.detachUpgrades = undefined;
    this.detachMesh?.();
    this.detachMesh = undefined;
  }

  /** Closes the WebSocketServer, and the http server when it is the endpoint's own. */
  async close(): Promise<void> {
    this.wss?.close();
    this.wss = undefined;
    const meshServer = this.meshHttpServer;
    this.meshHttpServer = undefined;
    this.meshPort = undefined;
    if (meshServer !== undefined) {
      await new Promise<void>((resolve) => {
        meshServer.close(() => resolve());
        meshServer.closeAllConnections();
      });
    }
    const httpServer = this.httpServer;
    this.httpServer = undefined;
    if (httpServer !== undefined && this.ownHttpServer) {
      this.ownHttpServer = false;
      await new Promise<void>((resolve) => {
        httpServer.close(() => resolve());
        (httpServer as HttpServer).closeAllConnections?.();
      });
    }
  }
}

/** The codec of the subprotocol to answer with: the preferred one if offered, else the first known. */
function pickCodec(
  header: string | undefined,
  preferredCodec: ResolvedServerOptions['codec'],
): Codec | undefined {
  if (header === undefined) return codecForSubprotocol(Subprotocol.json);
  const offered = header.split(',').map((name) => name.trim());
  const preferred = Subprotocol[preferredCodec];
  if (offered.includes(preferred)) return codecForSubprotocol(preferred);
  for (const name of offered) {
    const codec = codecForSubprotocol(name);
    if (codec !== undefined) return codec;
  }
  return undefined;
}

function listen(
  server: HttpServer | HttpsServer,
  port: number,
  host: string | undefined,
  backlog?: number,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ port, host, backlog }, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** Waits until every socket closed; those still open after `timeoutMs` are terminated. */
export function waitForSocketsClosed(
  sockets: ServerConnection[],
  timeoutMs: number,
): Promise<void> {
  const open = sockets.filter((ws) => ws.socket.ws.readyState !== 3);
  if (open.length === 0) return Promise.resolve();
  return new Promise((resolve) => {
    let remaining = open.length;
    const timer = setTimeout(() => {
      for (const ws of open) ws.socket.terminate();
      resolve();
    }, timeoutMs);
    for (const ws of open) {
      ws.socket.ws.once('close', () => {
        remaining--;
        if (remaining === 0) {
          clearTimeout(timer);
          resolve();
        }
      });
    }
  });
}
