/**
 * `wsmesh start`: runs a node (or `--workers N` meshed nodes) from flags, `WSMESH_*`
 * environment variables or a JSON config file.
 * @module
 */
import { Exit } from './exit.js';
import type { CommandIo } from './io.js';
import { runNode } from './node-runner.js';
import { parseCommand } from './parse.js';
import { resolveStartConfig } from './start-config.js';
import { runWorkers, WORKER_ENV } from './workers.js';
import { usageError } from './exit.js';

/** Help text of `wsmesh start`. */
export const START_HELP = `Usage: wsmesh start [options]

Runs a wsmesh node until Ctrl+C (SIGINT) or SIGTERM, then stops it gracefully: clients are
told (close code 1001), clone and server links are closed, the mesh is told it left.

Options (environment variable in brackets; flags win over the environment, which wins over
the config file):
  --port <n>           port to listen on, 0 = any free port (default 3000) [WSMESH_PORT]
  --host <addr>        interface (default 127.0.0.1; 0.0.0.0 for all) [WSMESH_HOST]
  --id <id>            node id, unique in the mesh (default <hostname>-<port>) [WSMESH_ID]
  --url <ws-url>       address other clones dial (default ws://<host>:<port>) [WSMESH_URL]
  --path <path>        WebSocket endpoint path (default /) [WSMESH_PATH]
  --clone <id=url>     a clone to join, repeatable [WSMESH_CLONES=id=url,id=url]
  --nats <url>         run on a NATS cluster instead of the clone mesh, repeatable
                       (nodes find each other; no --clone) [WSMESH_NATS=url,url]
  --functions <file>   share the module's exported functions over RPC: ES module,
                       CommonJS, or TypeScript with tsx installed [WSMESH_FUNCTIONS]
  --namespace <name>   namespace of those functions (default DEFAULT) [WSMESH_NAMESPACE]
  --workers <n>        run n clones of this node, one process each, meshed with each other
                       on consecutive ports (default 1) [WSMESH_WORKERS]
  --dashboard          serve the live dashboard at /_wsmesh [WSMESH_DASHBOARD=1]
  --metrics            serve Prometheus metrics at /metrics [WSMESH_METRICS=1]
  --static <dir>       also serve the folder's files over HTTP (index.html for /), the
                       browser client at /wsmesh-client.js and the node's urls at
                       /wsmesh.json [WSMESH_STATIC]
  --log-level <level>  debug, info, warn, error or silent (default warn) [WSMESH_LOG_LEVEL]
  --config <file>      JSON file with any of: port, host, id, url, path, clones, functions,
                       namespace, workers, dashboard, metrics, static, logLevel, secret,
                       dashboardToken, metricsToken
  -h, --help           this help

Secrets (environment or config file only, never flags):
  WSMESH_SECRET            server secret: RPC proxies, server links and clones must prove
                           it (a challenge-response proof; the secret never crosses the wire)
  WSMESH_DASHBOARD_TOKEN   dashboard token (default: a random one, printed once at start;
                           never the secret)
  WSMESH_METRICS_TOKEN     makes /metrics require "Authorization: Bearer <token>"

Examples:
  wsmesh start --port 3000 --dashboard
  wsmesh start --port 8080 --static ./public --functions ./api.js --namespace api
  wsmesh start --port 4000 --id b --clone a=ws://10.0.0.1:3000 --url ws://10.0.0.2:4000
  wsmesh start --port 3000 --nats nats://10.0.0.5:4222 --nats nats://10.0.0.6:4222
  WSMESH_SECRET=s3cret wsmesh start --functions ./math.js --namespace math --workers 4`;

/** Runs `wsmesh start`; `script` is the CLI's own entry file (forked for workers). */
export async function startCommand(args: string[], io: CommandIo, script: string): Promise<number> {
  const workerConfig = io.env[WORKER_ENV];
  if (workerConfig !== undefined) {
    return runNode(resolveStartConfig({}, {}, undefined, workerConfig), io, true);
  }
  const { values, positionals } = parseCommand('start', args, {
    port: { type: 'string' },
    host: { type: 'string' },
    id: { type: 'string' },
    url: { type: 'string' },
    path: { type: 'string' },
    clone: { type: 'string', multiple: true },
    nats: { type: 'string', multiple: true },
    functions: { type: 'string' },
    namespace: { type: 'string' },
    workers: { type: 'string' },
    dashboard: { type: 'boolean' },
    metrics: { type: 'boolean' },
    static: { type: 'string' },
    'log-level': { type: 'string' },
    config: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(START_HELP);
    return Exit.OK;
  }
  if (positionals.length > 0) {
    throw usageError(`start takes no arguments, got: ${positionals.join(' ')}`, 'start');
  }
  const config = resolveStartConfig(values, io.env, values.config);
  if (config.workers > 1) return runWorkers(config, io, script);
  return runNode(config, io, false);
}
