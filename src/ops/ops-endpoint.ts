/**
 * The operations pages of one server, served from its HTTP request handler:
 *
 * - `/metrics`: Prometheus exposition (`metrics` option; open, or `{ token }` required as
 *   `Authorization: Bearer`).
 * - `/_wsmesh`: the dashboard page, and `/_wsmesh/api/state`: its JSON (`dashboard` option;
 *   always needs the dashboard's own token, as a Bearer header or through a login session).
 * - `/_wsmesh/login`: the login form posts the token here and gets a session cookie.
 *
 * Paths are under the server's `path` when it is not `/` (`/chat/metrics`). The server's own
 * http server asks this endpoint first; an attached http server calls `server.handleHttp`.
 * While the server runs, a timer samples the counters every `sampleInterval` for the rate
 * charts and times a PING on every clone link (link latency).
 * @module
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RpcObserver } from '../rpc/rpc-responder.js';
import { clusterState } from './cluster-state.js';
import { DASHBOARD_CSP, dashboardHtml, loginHtml } from './dashboard-page.js';
import {
  bearerToken,
  cookie,
  matchesToken,
  readLoginToken,
  sameOrigin,
  Sessions,
} from './http-auth.js';
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
  private readonly paths: { metrics: string; page: string; api: string; login: string };
  /** Dashboard sessions opened by the login form. */
  readonly sessions = new Sessions();
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
      login: `${base}/_wsmesh/login`,
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
    const dashboard = this.options.dashboard !== undefined;
    const which =
      this.options.metrics !== undefined && path === paths.metrics
        ? 'metrics'
        : dashboard && (path === paths.page || path === `${paths.page}/`)
          ? 'page'
          : dashboard && path === paths.api
            ? 'api'
            : dashboard && path === paths.login
              ? 'login'
              : undefined;
    if (which === undefined) return false;
    if (which === 'login') {
      if (request.method === 'POST') void this.login(request, response);
      else {
        send(
          request,
          response,
          405,
          { Allow: 'POST', 'Content-Type': 'text/plain' },
          'Method Not Allowed\n',
        );
      }
      return true;
    }
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
    if (which === 'metrics') this.serveMetrics(request, response);
    else this.serveDashboard(request, response, which);
    return true;
  }

  private serveMetrics(request: IncomingMessage, response: ServerResponse): void {
    const token = this.options.metrics?.token;
    if (token !== undefined) {
      // Only the header: Prometheus sends it, and a token in a url would end up in logs.
      const given = bearerToken(request);
      if (given === undefined || !matchesToken(given, token)) {
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

  /** True when the request carries the dashboard token (Bearer) or a live session cookie. */
  private authorized(request: IncomingMessage, token: string): boolean {
    const given = bearerToken(request);
    if (given !== undefined) return matchesToken(given, token);
    return this.sessions.valid(cookie(request, COOKIE));
  }

  // Referrer-Policy same-origin (not no-referrer): browsers then send the real Origin with the
  // login form, which the login checks; no-referrer would make it "null".
  private sendLogin(
    request: IncomingMessage,
    response: ServerResponse,
    status: number,
    failed: boolean,
  ): void {
    send(
      request,
      response,
      status,
      {
        'WWW-Authenticate': 'Bearer realm="wsmesh dashboard"',
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy': DASHBOARD_CSP,
        'Referrer-Policy': 'same-origin',
        'X-Frame-Options': 'DENY',
      },
      loginHtml(this.paths.login, failed),
    );
  }

  /** POST of the login form: a right token opens a session (cookie) and goes to the page. */
  private async login(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const dashboard = this.options.dashboard;
    if (dashboard === undefined) return;
    if (!sameOrigin(request)) {
      request.resume();
      send(request, response, 403, { 'Content-Type': 'text/plain' }, 'Forbidden\n');
      return;
    }
    const token = await readLoginToken(request);
    if (token === undefined || !matchesToken(token, dashboard.token)) {
      this.sendLogin(request, response, 401, true);
      return;
    }
    const secure = 'encrypted' in request.socket && request.socket.encrypted === true;
    const maxAge = Math.floor(this.sessions.ttlMs / 1000);
    send(
      request,
      response,
      303,
      {
        Location: this.paths.page,
        'Content-Type': 'text/plain',
        'Set-Cookie': `${COOKIE}=${this.sessions.create()}; Path=${this.paths.page}; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
      },
      'See Other\n',
    );
  }

  private serveDashboard(
    request: IncomingMessage,
    response: ServerResponse,
    which: 'page' | 'api',
  ): void {
    const dashboard = this.options.dashboard;
    if (dashboard === undefined) return;
    if (!this.authorized(request, dashboard.token)) {
      if (which === 'page') this.sendLogin(request, response, 401, false);
      else {
        send(
          request,
          response,
          401,
          {
            'WWW-Authenticate': 'Bearer realm="wsmesh dashboard"',
            'Content-Type': 'application/json',
          },
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
      'Referrer-Policy': 'same-origin',
      'X-Frame-Options': 'DENY',
    };
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
