/**
 * Throw-away nats-server processes for the NATS contenders: one, or a cluster routed to its
 * first member, on free 127.0.0.1 ports (client, route and WebSocket listeners), each
 * started from a config file under bench/results/tmp, tracked by PID and stopped at the end.
 * @module
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { REPO_ROOT, trackProcess } from './children.js';
import { freePort } from './free-port.js';

/** One running nats-server. */
export interface NatsNode {
  pid: number;
  /** Client (TCP) port. */
  port: number;
  /** WebSocket port (`ws://127.0.0.1:<wsPort>`, no TLS). */
  wsPort: number;
}

/** A running NATS cluster (one node or several, routed). */
export interface NatsCluster {
  nodes: NatsNode[];
  stop(): Promise<void>;
}

const TMP = join(REPO_ROOT, 'bench', 'results', 'tmp', 'nats');

let binary: string | null | undefined;

/** The nats-server binary, or undefined when it is not installed. */
export function natsServerBinary(): string | undefined {
  if (binary === undefined) {
    const which = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server'], {
      encoding: 'utf8',
      timeout: 5_000,
    });
    const found = which.stdout.trim().split('\n')[0] ?? '';
    binary = which.status === 0 && found !== '' ? found : null;
  }
  return binary ?? undefined;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopProcess(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  child.kill('SIGTERM');
  for (let waited = 0; waited < 3_000 && !exited(child); waited += 20) await delay(20);
  if (!exited(child)) child.kill('SIGKILL');
}

interface Started {
  child: ChildProcess;
  node: NatsNode;
  routePort: number;
  log: string[];
}

async function startNode(
  path: string,
  clusterSize: number,
  seedRoute: number | undefined,
): Promise<Started> {
  const [port, wsPort, routePort] = [await freePort(), await freePort(), await freePort()];
  const routes = seedRoute === undefined ? '' : `routes: ["nats-route://127.0.0.1:${seedRoute}"]`;
  const config = [
    `listen: "127.0.0.1:${port}"`,
    'max_connections: 100000',
    `websocket { listen: "127.0.0.1:${wsPort}", no_tls: true, compression: false }`,
    clusterSize > 1 ? `cluster { name: "bench", listen: "127.0.0.1:${routePort}", ${routes} }` : '',
  ].join('\n');
  const file = join(TMP, `${process.pid}-${port}.conf`);
  writeFileSync(file, `${config}\n`);
  const child = spawn(path, ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  trackProcess(child);
  const log: string[] = [];
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => log.push(...chunk.split('\n')));
  const ready = (): boolean => log.some((line) => line.includes('Server is ready'));
  for (let waited = 0; !ready(); waited += 20) {
    if (exited(child) || waited > 10_000 || child.pid === undefined) {
      await stopProcess(child);
      throw new Error(`nats-server did not start:\n${log.join('\n')}`);
    }
    await delay(20);
  }
  return { child, node: { pid: child.pid ?? 0, port, wsPort }, routePort, log };
}

function routesUp(started: Started): number {
  const count = (text: string): number => started.log.filter((line) => line.includes(text)).length;
  return count('Route connection created') - count('Route connection closed');
}

/**
 * Starts `size` nats-servers (routed to the first one when more than one) and waits until
 * every node has a route to every other. Rejects (after stopping what started) on failure.
 */
export async function startNatsCluster(size: number): Promise<NatsCluster> {
  const path = natsServerBinary();
  if (path === undefined) throw new Error('nats-server is not installed');
  mkdirSync(TMP, { recursive: true });
  const started: Started[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(started.map((one) => stopProcess(one.child)));
    for (const one of started)
      rmSync(join(TMP, `${process.pid}-${one.node.port}.conf`), { force: true });
  };
  try {
    for (let index = 0; index < size; index++) {
      started.push(await startNode(path, size, started[0]?.routePort));
    }
    for (let waited = 0; !started.every((one) => routesUp(one) >= size - 1); waited += 20) {
      if (waited > 10_000) throw new Error(`NATS routes not up after 10 s`);
      await delay(20);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { nodes: started.map((one) => one.node), stop };
}

/** True when a nats-server binary is there (the log says why not otherwise). */
export function natsAvailable(): boolean {
  return natsServerBinary() !== undefined && existsSync(natsServerBinary() ?? '');
}
