/**
 * The `metrics` and `dashboard` server options: what they accept, their defaults, and how the
 * dashboard's credential is chosen.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/** The `metrics` server option: `true` serves an open `/metrics`; `{ token }` requires it. */
export type MetricsOption = boolean | { token?: string };

/** The `dashboard` server option. */
export type DashboardOption =
  | boolean
  | {
      /** Credential of the page and its API. Default: the server's `serverSecret`. */
      token?: string;
      /** ms between rate samples. Default 5000. */
      sampleInterval?: number;
      /** Samples kept (the charts' width). Default 120 (10 minutes at 5 s). */
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
 * Validates `metrics` and `dashboard`. The dashboard always needs a credential: its `token`,
 * or else the server's `serverSecret`; neither throws `InvalidOptionError`.
 */
export function resolveOpsOptions(
  metrics: unknown,
  dashboard: unknown,
  serverSecret: string | undefined,
): ResolvedOpsOptions {
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
    const token = optionalToken('dashboard.token', given['token']) ?? serverSecret;
    if (token === undefined) {
      throw new InvalidOptionError(
        'dashboard needs a credential: give dashboard: { token } or a serverSecret',
      );
    }
    resolvedDashboard = {
      token,
      sampleInterval: positiveInteger('dashboard.sampleInterval', given['sampleInterval'], 5000),
      history: positiveInteger('dashboard.history', given['history'], 120),
    };
  } else if (dashboard !== undefined && dashboard !== false) {
    throw new InvalidOptionError('dashboard must be a boolean or { token, sampleInterval }');
  }
  return { metrics: resolvedMetrics, dashboard: resolvedDashboard };
}
