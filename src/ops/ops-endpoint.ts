/**
 * The operations pages of one server, served from its HTTP request handler:
 *
 * - `/metrics`: Prometheus exposition (`metrics` option; open, or `{ token }` required).
 * - `/_wsmesh`: the dashboard page, and `/_wsmesh/api/state`: its JSON (`dashboard` option;
 *   always needs the dashboard token or the server secret).
 *
 * Paths are under the server's `path` when it is not `/` (`/chat/metrics`). The server's own
 * http server asks this endpoint first; an attached http server calls `server.handleHttp`.
 * While the server runs, a timer samples the counters every `sampleInterval` for the rate
 * charts and times a PING on every clone link (link latency).
 * @module
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcObserver } from '../rpc/rpc-responder.js';
import { clusterState } from './cluster-state.js';
import { DASHBOARD_CSP, dashboardHtml, loginHtml } from './dashboard-page.js';
import { matchesToken, presentedCredential } from './http-auth.js';
import type { ServerMetrics } from './metrics.js';
import type { OpsHost } from './ops-host.js';
import type { ResolvedOpsOptions } from './ops-options.js';
import { RateHistory } from './rate-history.js';
import { RpcCallStats } from './rpc-stats.js';

const COOKIE = 'wsmesh_dashboard';

/** What the endpoint needs besides {@link OpsHost} to attach itself. */
export interface OpsAttachHost extends OpsHost {
  readonly responder: { observer: RpcObserver | undefined };
  on(event: 'start' | 'stop', listener: () => void): unknown;
}

function cookieValue(token: string): string {
  return createHash('sha256').update(`wsmesh-dashboard-cookie\u0000${token}`).digest('hex');
}

function send(
  request: IncomingMessage,
  response: ServerResponse,
  status: number,
  headers: Record<string, string>,
  body: string,
): void {
  response.writeHead(status, {
    'Cache-Control': 'no-store',
    'X-Content-Type-Options': 'nosniff',
    'Content-Length': String(Buffer.byteLength(body)),
    ...headers,
  });
  response.end(request.method === 'HEAD' ? undefined : body);
}

/** Serves metrics and the dashboard for one server. */
export class OpsEndpoint {
  /** Per-function RPC figures (the responder's observer). */
  readonly callStats = new RpcCallStats();
  /** The Prometheus metrics, made on the first scrape (prom-client loads only then). */
  private metrics: Promise<ServerMetrics> | undefined;
  private readonly history: RateHistory | undefined;
  private readonly paths: { metrics: string; page: string; api: string };
  private timer: ReturnType<typeof setInterval> | undefined;
  private startedAt = Date.now();

  private constructor(
    private readonly host: OpsHost,
    private readonly options: ResolvedOpsOptions,
    basePath: string,
  ) {
    const base = basePath.replace(/\/+$/, '');
    this.paths = {
      metrics: `${base}/metrics`,
      page: `${base}/_wsmesh`,
      api: `${base}/_wsmesh/api/state`,
    };
    this.history =
      options.dashboard === undefined ? undefined : new RateHistory(options.dashboard.history + 1);
  }

  /**
   * The endpoint of `host` when `metrics` or `dashboard` is on (undefined otherwise): installs
   * the RPC observer and follows the server's start and stop.
   */
  static attach(
    host: OpsAttachHost,
    options: ResolvedOpsOptions,
    basePath: string,
  ): OpsEndpoint | undefined {
    if (options.metrics === undefined && options.dashboard === undefined) return undefined;
    const endpoint = new OpsEndpoint(host, options, basePath);
    host.responder.observer = endpoint.callStats;
    host.on('start', () => endpoint.start());
    host.on('stop', () => endpoint.stop());
    return endpoint;
  }

  /** Starts sampling (called when the server starts). */
  start(): void {
    this.startedAt = Date.now();
    const dashboard = this.options.dashboard;
    if (dashboard === undefined || this.timer !== undefined) return;
    this.sample();
    this.timer = setInterval(() => this.sample(), dashboard.sampleInterval);
    this.timer.unref();
  }

  /** Stops sampling (called when the server stops). */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Answers `request` if it is for one of the operations paths; false (nothing written) when
   * it is not, so the caller can handle it.
   */
  handle(request: IncomingMessage, response: ServerResponse): boolean {
    let url: URL;
    try {
      url = new URL(request.url ?? '/', 'http://localhost');
    } catch {
      return false; // not a path of ours (and not for this code to judge)
    }
    const path = url.pathname;
    const { paths } = this;
    const which =
      this.options.metrics !== undefined && path === paths.metrics
        ? 'metrics'
        : this.options.dashboard !== undefined && (path === paths.page || path === `${paths.page}/`)
          ? 'page'
          : this.options.dashboard !== undefined && path === paths.api
            ? 'api'
            : undefined;
    if (which === undefined) return false;
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      send(
        request,
        response,
        405,
        { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' },
        'Method Not Allowed\n',
      );
      return true;
    }
    if (which === 'metrics') this.serveMetrics(request, response, url);
    else this.serveDashboard(request, response, url, which);
    return true;
  }

  private serveMetrics(request: IncomingMessage, response: ServerResponse, url: URL): void {
    const token = this.options.metrics?.token;
    if (token !== undefined) {
      const given = presentedCredential(request, url, COOKIE);
      if (given === undefined || given.source === 'cookie' || !matchesToken(given.value, token)) {
        send(
          request,
          response,
          401,
          { 'Content-Type': 'text/plain', 'WWW-Authenticate': 'Bearer realm="wsmesh metrics"' },
          'Unauthorized\n',
        );
        return;
      }
    }
    const host = this.host;
    this.metrics ??= import('./metrics.js').then(
      ({ ServerMetrics }) => new ServerMetrics(() => host.stats(), host.id),
    );
    this.metrics
      .then(async (metrics) => ({ text: await metrics.text(), type: metrics.contentType }))
      .then(
        ({ text, type }) => send(request, response, 200, { 'Content-Type': type }, text),
        (error: unknown) =>
          send(request, response, 500, { 'Content-Type': 'text/plain' }, `${String(error)}\n`),
      );
  }

  private serveDashboard(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    which: 'page' | 'api',
  ): void {
    const dashboard = this.options.dashboard;
    if (dashboard === undefined) return;
    const given = presentedCredential(request, url, COOKIE);
    const authorized =
      given !== undefined &&
      (given.source === 'cookie'
        ? matchesToken(given.value, cookieValue(dashboard.token))
        : matchesToken(given.value, dashboard.token));
    if (!authorized) {
      const headers = { 'WWW-Authenticate': 'Bearer realm="wsmesh dashboard"' };
      if (which === 'page') {
        send(
          request,
          response,
          401,
          {
            ...headers,
            'Content-Type': 'text/html; charset=utf-8',
            'Content-Security-Policy': DASHBOARD_CSP,
          },
          loginHtml(),
        );
      } else {
        send(
          request,
          response,
          401,
          { ...headers, 'Content-Type': 'application/json' },
          '{"error":"unauthorized"}\n',
        );
      }
      return;
    }
    if (which === 'api') {
      const state = clusterState(this.host, this.startedAt, {
        intervalMs: dashboard.sampleInterval,
        points: this.history?.rates() ?? [],
      });
      send(request, response, 200, { 'Content-Type': 'application/json' }, JSON.stringify(state));
      return;
    }
    const headers: Record<string, string> = {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': DASHBOARD_CSP,
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    };
    if (given.source === 'query') {
      // Later requests (the API, a reload) authenticate with a cookie derived from the token.
      const secure = 'encrypted' in request.socket && request.socket.encrypted === true;
      headers['Set-Cookie'] =
        `${COOKIE}=${cookieValue(dashboard.token)}; Path=${this.paths.page}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
    }
    send(request, response, 200, headers, dashboardHtml(this.paths.api));
  }

  private sample(): void {
    const stats = this.host.stats();
    this.history?.add({
      t: Date.now(),
      clients: stats.clients,
      messagesIn: stats.messagesIn,
      publishes: stats.publishes,
      deliveries: stats.deliveries,
      rpcCalls: stats.rpc.calls,
      rpcErrors: stats.rpc.errors,
      relayedOut: stats.clones.relayedOut,
      relayedIn: stats.clones.relayedIn,
    });
    for (const link of this.host.clones.links.values()) {
      if (link.closed) continue;
      try {
        link.connection.ping();
      } catch {
        // Closing or slow: the link layer handles it.
      }
    }
  }
}
