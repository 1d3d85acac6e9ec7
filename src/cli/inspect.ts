/**
 * `wsmesh inspect <url>`: prints the cluster as one node sees it. It reads the node's dashboard
 * API (`/_wsmesh/api/state`) over HTTP, so the node must run with the dashboard on; the token is
 * the dashboard's own (never the server secret).
 * @module
 */
import type { ClusterState } from '../ops/cluster-state.js';
import { CliError, Exit, toCliError, usageError } from './exit.js';
import { formatClusterState } from './format-state.js';
import type { CommandIo } from './io.js';
import { parseCommand, parseInteger } from './parse.js';
import { toHttpBase } from './urls.js';

/** Help text of `wsmesh inspect`. */
export const INSPECT_HELP = `Usage: wsmesh inspect <url>

Prints the cluster as the node at <url> sees it: its backplane (NATS: link state, server,
traffic), clones or backplane nodes and their state, link latency, server links, groups with
subscriber counts, namespaces and functions with where they run. Reads the
node's dashboard API over HTTP (GET <url>/_wsmesh/api/state), so the node must run with the
dashboard on (wsmesh start --dashboard, or the dashboard server option).

Options:
  --json           print the raw state JSON
  --token <token>  dashboard token (visible to other users in the process list: prefer the
                   environment)
  --timeout <ms>   request timeout (default 5000)
  -h, --help       this help

Environment:
  WSMESH_DASHBOARD_TOKEN   the dashboard token (wsmesh start prints a generated one once)

Exit codes: 0 done, 1 no dashboard there, 2 bad arguments, 3 node unreachable, 4 token refused.`;

/** Runs `wsmesh inspect`. */
export async function inspectCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand('inspect', args, {
    json: { type: 'boolean' },
    token: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(INSPECT_HELP);
    return Exit.OK;
  }
  const [target, ...extra] = positionals;
  if (target === undefined) throw usageError('inspect needs <url>', 'inspect');
  if (extra.length > 0) throw usageError(`unexpected arguments: ${extra.join(' ')}`, 'inspect');
  const base = toHttpBase(target, 'inspect');
  const timeout =
    values.timeout === undefined
      ? 5000
      : parseInteger(values.timeout, '--timeout', 'inspect', 1, 600_000);
  const given = values.token ?? io.env['WSMESH_DASHBOARD_TOKEN'];
  const token = given === '' ? undefined : given;
  const url = `${base}/_wsmesh/api/state`;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(timeout),
    });
  } catch (error) {
    const cause = (error as { cause?: unknown } | null)?.cause;
    const detail =
      cause instanceof Error
        ? cause.message
        : error instanceof Error
          ? error.message
          : String(error);
    throw new CliError(`cannot reach ${base}: ${detail}`, Exit.UNREACHABLE);
  }
  if (response.status === 401) {
    await response.body?.cancel();
    throw new CliError(
      token === undefined
        ? `the dashboard token is missing: set WSMESH_DASHBOARD_TOKEN (or --token) to the token ${base} was started with`
        : `${base} refused the token: WSMESH_DASHBOARD_TOKEN (or --token) is not that node's dashboard token`,
      Exit.AUTH,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new CliError(
      `${base} does not serve the dashboard API (HTTP ${response.status}); start the node with --dashboard`,
      Exit.FAILED,
    );
  }
  let state: ClusterState;
  try {
    state = (await response.json()) as ClusterState;
  } catch (error) {
    throw toCliError(error, base);
  }
  if (values.json === true) io.out(JSON.stringify(state, null, 2));
  else for (const line of formatClusterState(state)) io.out(line);
  return Exit.OK;
}
