/**
 * The `metrics` and `dashboard` server options: what they accept and their defaults. The
 * dashboard has a token of its own, never the server secret: the token is typed into a
 * browser and sent over HTTP, where the cluster's secret must never go.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/**
 * The `metrics` server option: `true` serves an open `/metrics`; `{ token }` requires
 * `Authorization: Bearer <token>`.
 */
export type MetricsOption =
  | boolean
  | {
      /**
       * Token a scraper must send as `Authorization: Bearer <token>` (at least 8 characters).
       * @default undefined (open)
       */
      token?: string;
    };

/** The `dashboard` server option: `{ token }` serves the page; `false` does not. */
export type DashboardOption =
  | false
  | {
      /**
       * Credential of the page and its API (at least 8 characters; use a long random one).
       * Required, and never the server secret.
       */
      token: string;
      /**
       * ms between rate samples.
       * @default 5000
       */
      sampleInterval?: number;
      /**
       * Samples kept (the charts' width).
       * @default 120 (10 minutes at 5 s)
       */
      history?: number;
    };

/** Resolved `metrics` and `dashboard` options; undefined = not served. */
export interface ResolvedOpsOptions {
  metrics: { token: string | undefined } | undefined;
  dashboard: { token: string; sampleInterval: number; history: number } | undefined;
}

function optionalToken(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length < 8) {
    throw new InvalidOptionError(`${name} must be a string of at least 8 characters`);
  }
  return value;
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new InvalidOptionError(`${name} must be a positive integer`);
  }
  return value;
}

/**
 * Validates `metrics` and `dashboard`. The dashboard always needs its own `token`; without
 * one (`dashboard: true`) it throws `InvalidOptionError`.
 */
export function resolveOpsOptions(metrics: unknown, dashboard: unknown): ResolvedOpsOptions {
  let resolvedMetrics: ResolvedOpsOptions['metrics'];
  if (metrics === true) resolvedMetrics = { token: undefined };
  else if (typeof metrics === 'object' && metrics !== null) {
    resolvedMetrics = {
      token: optionalToken('metrics.token', (metrics as { token?: unknown }).token),
    };
  } else if (metrics !== undefined && metrics !== false) {
    throw new InvalidOptionError('metrics must be a boolean or { token }');
  }
  let resolvedDashboard: ResolvedOpsOptions['dashboard'];
  if (dashboard === true || (typeof dashboard === 'object' && dashboard !== null)) {
    const given = dashboard === true ? {} : (dashboard as Record<string, unknown>);
    const token = optionalToken('dashboard.token', given['token']);
    if (token === undefined) {
      throw new InvalidOptionError(
        'dashboard needs a token of its own: dashboard: { token } (never the server secret)',
      );
    }
    resolvedDashboard = {
      token,
      sampleInterval: positiveInteger('dashboard.sampleInterval', given['sampleInterval'], 5000),
      history: positiveInteger('dashboard.history', given['history'], 120),
    };
  } else if (dashboard !== undefined && dashboard !== false) {
    throw new InvalidOptionError('dashboard must be { token, sampleInterval?, history? }');
  }
  return { metrics: resolvedMetrics, dashboard: resolvedDashboard };
}
