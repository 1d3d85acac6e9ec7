/**
 * A real NATS cluster for tests: nats-server processes on 127.0.0.1 with ephemeral client and
 * route ports, routed to each other, each stopped by its own PID.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Server, type ServerOptions } from '../src/index.js';
import { natsBackplane, type NatsBackplaneOptions } from '../src/nats.js';
import { waitFor } from './helpers.js';

/** Where Debian's package puts nats-server; PATH is tried otherwise. */
const NATS_SERVER = existsSync('/usr/sbin/nats-server') ? '/usr/sbin/nats-server' : 'nats-server';

/** One nats-server process. */
export interface NatsNode {
  readonly process: ChildProcess;
  /** `nats://127.0.0.1:<port>` */
  readonly url: string;
  readonly routePort: number;
  /** Log lines so far. */
  readonly log: string[];
  /** Routes up right now (created minus closed, from the log). */
  routes(): number;
}

/** A running NATS cluster. */
export interface NatsCluster {
  readonly nodes: NatsNode[];
  /** Client urls of every server. */
  readonly urls: string[];
  /** Stops every server (SIGTERM by PID, SIGKILL after 2 s). */
  stop(): Promise<void>;
}

/** True when a nats-server binary can be run here. */
export function natsServerAvailable(): boolean {
  return (
    NATS_SERVER !== 'nats-server' ||
    (process.env.PATH ?? '').split(':').some((dir) => existsSync(`${dir}/nats-server`))
  );
}

/** Starts one nats-server of cluster `clusterName`, routed to the route ports `routes`. */
export async function startNode(
  clusterName: string,
  routes: number[],
  extra: string[],
): Promise<NatsNode> {
  const args = [
    '-a',
    '127.0.0.1',
    '-p',
    '-1',
    '--cluster',
    'nats://127.0.0.1:-1',
    '--cluster_name',
    clusterName,
    ...extra,
  ];
  if (routes.length > 0)
    args.push('--routes', routes.map((port) => `nats://127.0.0.1:${port}`).join(','));
  const child = spawn(NATS_SERVER, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const log: string[] = [];
  let pending = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    pending += chunk;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    log.push(...lines);
  });
  const port = (pattern: RegExp): number | undefined => {
    for (const line of log) {
      const match = pattern.exec(line);
      if (match?.[1] !== undefined) return Number(match[1]);
    }
    return undefined;
  };
  const [clientPort, routePort] = (await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited: ${log.join('\n')}`);
      const client = port(/client connections on 127\.0\.0\.1:(\d+)/);
      const route = port(/route connections on 127\.0\.0\.1:(\d+)/);
      return client !== undefined && route !== undefined ? ([client, route] as const) : undefined;
    },
    10_000,
    'nats-server listening',
  )) as readonly [number, number];
  return {
    process: child,
    url: `nats://127.0.0.1:${clientPort}`,
    routePort,
    log,
    routes: () =>
      log.filter((line) => line.includes('Route connection created')).length -
      log.filter((line) => line.includes('Route connection closed')).length,
  };
}

/** Stops one nats-server by PID: SIGTERM, then SIGKILL after `graceMs`. */
export async function stopNode(
  node: NatsNode,
  signal: NodeJS.Signals = 'SIGTERM',
  graceMs = 2000,
): Promise<void> {
  const child = node.process;
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, signal);
  const timer = setTimeout(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined)
      process.kill(child.pid, 'SIGKILL');
  }, graceMs);
  await exited;
  clearTimeout(timer);
}

/** Starts `size` routed nats-servers and waits until every pair is linked. */
export async function startNatsCluster(size: number, extra: string[] = []): Promise<NatsCluster> {
  const name = `wsmesh-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const nodes: NatsNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(nodes.map((node) => stopNode(node)));
  };
  try {
    nodes.push(await startNode(name, [], extra));
    for (let i = 1; i < size; i++)
      nodes.push(await startNode(name, [(nodes[0] as NatsNode).routePort], extra));
    await waitFor(() => nodes.every((node) => node.routes() >= size - 1), 10_000, 'NATS routes up');
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes, urls: nodes.map((node) => node.url), stop };
}

/** Starts a wsmesh server on 127.0.0.1 (ephemeral port) on the NATS backplane. */
export async function startNatsServer(
  servers: string | string[],
  options: ServerOptions = {},
  nats: Partial<NatsBackplaneOptions> = {},
  setup?: (server: Server) => void,
): Promise<{ server: Server; url: string }> {
  const server = new Server({
    port: 0,
    host: '127.0.0.1',
    ...options,
    backplane: natsBackplane({ heartbeatInterval: 200, ...nats, servers }),
  });
  setup?.(server);
  await server.start();
  return { server, url: `ws://127.0.0.1:${String(server.port)}${server.path}` };
}
