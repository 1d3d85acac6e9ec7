/**
 * Runs one node for `wsmesh start`: builds the server from the resolved configuration, shares
 * the functions module, joins the clones, prints where everything is, and stops gracefully on
 * SIGINT/SIGTERM (`server.stop()`: clients are told with close code 1001, clone and server
 * links are closed, the mesh is told this clone leaves).
 * @module
 */
import { randomBytes } from 'node:crypto';
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { hostname } from 'node:os';
import { createConsoleLogger } from '../ops/logger.js';
import { Server } from '../server/server.js';
import type { ServerOptions } from '../server/options.js';
import { CliError, Exit, usageError } from './exit.js';
import { freePort } from './free-port.js';
import { registerModuleFunctions } from './functions-module.js';
import type { CommandIo } from './io.js';
import { stopRequested } from './shutdown.js';
import type { StartConfig } from './start-config.js';
import { natsBackplane } from '../nats.js';
import { BUNDLE_MISSING, createStaticSite, meshUrls } from './static-files.js';

/** What a worker tells its parent once it listens. */
export interface WorkerReady {
  type: 'ready';
  id: string;
  url: string;
  port: number;
}

/** True for an address that means "every interface". */
export function isWildcard(host: string): boolean {
  return host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';
}

/** `host` as it goes in a URL (IPv6 in brackets). */
export function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/**
 * A dashboard token of its own (24 random bytes), made when none is configured: the cluster
 * secret never doubles as the dashboard's credential, which travels over HTTP.
 */
export function newDashboardToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * The lines that say where the dashboard is and how to log in. The url carries no credential:
 * a generated token is printed once, on its own line; a configured one is named, not shown.
 */
export function dashboardLines(pageUrl: string, generatedToken: string | undefined): string[] {
  if (generatedToken === undefined) {
    return [`  dashboard  ${pageUrl}  (log in with WSMESH_DASHBOARD_TOKEN)`];
  }
  return [
    `  dashboard  ${pageUrl}`,
    `  token      ${generatedToken}  (dashboard login, shown once; WSMESH_DASHBOARD_TOKEN sets your own)`,
  ];
}

/** Environment variable holding the node's id, set before the functions module loads. */
export const NODE_ID_ENV = 'WSMESH_NODE_ID';

function isAddressInUse(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EADDRINUSE';
}

function listenError(error: unknown, host: string, port: number): CliError {
  if (isAddressInUse(error)) {
    return new CliError(`port ${port} on ${host} is already in use`, Exit.FAILED);
  }
  return new CliError(
    `cannot listen on ${host}:${port}: ${error instanceof Error ? error.message : String(error)}`,
    Exit.FAILED,
  );
}

/** Listens on `port` (0: any free one); resolves with the bound port. */
function listenHttp(http: HttpServer, port: number, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, host, () => {
      http.off('error', reject);
      const address = http.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
    });
  });
}

function closeHttp(http: HttpServer | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (http === undefined || !http.listening) {
      resolve();
      return;
    }
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

function serverOptions(
  config: StartConfig,
  port: number,
  id: string,
  url: string | undefined,
): ServerOptions {
  const options: ServerOptions = {
    id,
    port,
    host: config.host,
    path: config.path,
    logger: createConsoleLogger(config.logLevel),
  };
  if (url !== undefined) options.url = url;
  const { secret } = config;
  // Clones prove the secret to each other with the handshake's challenge-response proof.
  if (secret !== undefined) options.serverSecret = secret;
  if (config.metrics) {
    options.metrics = config.metricsToken === undefined ? true : { token: config.metricsToken };
  }
  // The NATS client itself is loaded only when the server starts on it.
  if (config.nats.length > 0) options.backplane = natsBackplane({ servers: config.nats });
  return options;
}

/** Runs a node until it is asked to stop; resolves with the exit code. */
export async function runNode(
  config: StartConfig,
  io: CommandIo,
  worker: boolean,
): Promise<number> {
  const generatedToken =
    config.dashboard && config.dashboardToken === undefined ? newDashboardToken() : undefined;
  const dashboardToken = config.dashboardToken ?? generatedToken;
  const dialHost = isWildcard(config.host) ? '127.0.0.1' : config.host;
  const suffix = config.path === '/' ? '' : config.path;
  let server: Server | undefined;
  let port = config.port;
  let url: string | undefined;
  let functionNames: string[] = [];
  // --static: the node gets an http server of ours that serves the folder too (the
  // WebSocket endpoint, the dashboard and /metrics are on it as usual, answered first).
  let http: HttpServer | undefined;
  const site =
    config.staticDir === undefined
      ? undefined
      : createStaticSite({
          root: config.staticDir,
          mesh: (request) => {
            const own =
              server?.url ?? `ws://${request.headers.host ?? `${dialHost}:${port}`}${suffix}`;
            return {
              id: server?.id ?? '',
              urls: meshUrls(own, server?.stats().clones.peers ?? []),
            };
          },
        });
  const onRequest = (request: IncomingMessage, response: ServerResponse): void => {
    if (server === undefined) {
      response.writeHead(503, { 'content-type': 'text/plain' }).end('starting\n');
      return;
    }
    if (server.handleHttp(request, response)) return;
    site?.handle(request, response);
  };
  for (let attempt = 0; server === undefined; attempt++) {
    if (site !== undefined) {
      http = createServer(onRequest);
      try {
        port = await listenHttp(http, config.port, config.host);
      } catch (error) {
        throw listenError(error, config.host, config.port);
      }
    } else if (config.port === 0) port = await freePort(config.host);
    url =
      config.url ??
      (isWildcard(config.host) && !worker
        ? undefined
        : `ws://${urlHost(dialHost)}:${port}${suffix}`);
    const id = config.id ?? `${hostname()}-${port}`;
    const options = serverOptions(config, port, id, url);
    if (http !== undefined) options.server = http;
    if (config.dashboard && dashboardToken !== undefined)
      options.dashboard = { token: dashboardToken };
    let candidate: Server;
    try {
      candidate = new Server(options);
    } catch (error) {
      await closeHttp(http);
      throw usageError(error instanceof Error ? error.message : String(error), 'start');
    }
    // A functions module may read which node it runs in (the CLI runs one node per process).
    process.env[NODE_ID_ENV] = id;
    if (config.functions !== undefined) {
      functionNames = await registerModuleFunctions(
        config.functions,
        config.namespace,
        (fn, where) => candidate.origin(fn, where),
      ).catch(async (error: unknown) => {
        await closeHttp(http);
        throw error;
      });
    }
    try {
      await candidate.start();
      server = candidate;
    } catch (error) {
      await closeHttp(http);
      if (isAddressInUse(error) && config.port === 0 && attempt < 3) continue;
      throw listenError(error, config.host, port);
    }
  }
  const running = server;
  for (const clone of config.clones) {
    try {
      running.addClone(clone);
    } catch (error) {
      await running.stop();
      await closeHttp(http);
      throw usageError(
        `--clone ${clone.id}=${clone.url}: ${error instanceof Error ? error.message : String(error)}`,
        'start',
      );
    }
  }
  const actualPort = running.port ?? port;
  const wsUrl = url ?? `ws://${urlHost(dialHost)}:${actualPort}${suffix}`;
  const httpBase = `http://${urlHost(dialHost)}:${actualPort}${suffix}`;
  io.out(`wsmesh node ${running.id} listening on ${wsUrl}`);
  if (config.dashboard && worker) io.out(`  dashboard  ${httpBase}/_wsmesh`);
  else if (config.dashboard) {
    for (const line of dashboardLines(`${httpBase}/_wsmesh`, generatedToken)) io.out(line);
  }
  if (config.metrics) {
    io.out(
      `  metrics    ${httpBase}/metrics${config.metricsToken === undefined ? '' : '  (Authorization: Bearer $WSMESH_METRICS_TOKEN)'}`,
    );
  }
  if (site !== undefined) {
    io.out(
      `  static     ${config.staticDir ?? ''} at http://${urlHost(dialHost)}:${actualPort}/  (and /wsmesh-client.js, /wsmesh.json)`,
    );
    if (!worker && !site.bundleBuilt()) io.err(`wsmesh: warning: ${BUNDLE_MISSING.trim()}`);
  }
  if (functionNames.length > 0) {
    io.out(`  functions  ${functionNames.join(', ')} in namespace "${config.namespace}"`);
  }
  if (config.clones.length > 0) {
    io.out(`  clones     ${config.clones.map((clone) => `${clone.id}=${clone.url}`).join(' ')}`);
  }
  if (config.nats.length > 0) io.out(`  nats       ${config.nats.join(' ')}`);
  else if (url === undefined) {
    io.out('  no --url: clones can only be dialed by this node (set --url for a mesh)');
  }
  if (worker) {
    const ready: WorkerReady = { type: 'ready', id: running.id, url: wsUrl, port: actualPort };
    process.send?.(ready);
  } else io.out('Ctrl+C stops the node.');
  const reason = await stopRequested();
  io.out(`wsmesh node ${running.id}: ${reason}, stopping`);
  await running.stop();
  await closeHttp(http);
  io.out(`wsmesh node ${running.id} stopped`);
  return Exit.OK;
}
