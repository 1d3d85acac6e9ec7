/**
 * Server-side helpers of the wsmesh contenders in a cluster: a clone started on a port known
 * beforehand (it announces its `url`), and the waits that tell the orchestrator the cluster
 * is formed (every clone linked, or every node seen on NATS; the benchmark function callable
 * from the node the load uses).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from './free-port.js';
import type { WsMeshModule } from './wsmesh-module.js';

/** A wsmesh Server. */
export type MeshServer = InstanceType<WsMeshModule['Server']>;
/** Options of a wsmesh Server. */
export type MeshServerOptions = ConstructorParameters<WsMeshModule['Server']>[0];

const SETTLE_LIMIT_MS = 15_000;
const START_ATTEMPTS = 3;

/** `WSMESH_BENCH_HISTORY=<size>` turns group history on (the cost of positions and history). */
const HISTORY_SIZE = Number(process.env.WSMESH_BENCH_HISTORY ?? '0');

/**
 * Starts a server on a port picked beforehand, so its `url` is known to announce (another
 * process may take the port in between: then it tries another). `setup` registers routes.
 */
export async function startOnFreePort(
  Server: WsMeshModule['Server'],
  options: MeshServerOptions,
  setup: (server: MeshServer) => void,
): Promise<MeshServer> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const server = new Server({
      ...options,
      ...(HISTORY_SIZE > 0 ? { history: { size: HISTORY_SIZE } } : {}),
      url: `ws://127.0.0.1:${port}`,
      host: '127.0.0.1',
      port,
      silent: true,
    });
    setup(server);
    try {
      await server.start();
      return server;
    } catch (error) {
      await server.stop().catch(() => undefined);
      if (attempt >= START_ATTEMPTS) throw error;
    }
  }
}

/** Polls `ready` every 10 ms until it is true; throws `what()` after the settle limit. */
async function until(ready: () => boolean | Promise<boolean>, what: () => string): Promise<void> {
  const deadline = performance.now() + SETTLE_LIMIT_MS;
  while (!(await ready())) {
    if (performance.now() > deadline) throw new Error(`${what()} after ${SETTLE_LIMIT_MS} ms`);
    await delay(10);
  }
}

/** Resolves once `server` knows every other node; on the mesh, also linked to each. */
export function seesAll(server: MeshServer, others: number, mesh: boolean): Promise<void> {
  return until(
    () =>
      server.clones.clones.size === others &&
      (!mesh || server.clones.linkedIds().length === others),
    () =>
      `wsmesh ${server.id}: knows ${server.clones.clones.size} and is linked to ${server.clones.linkedIds().length} of ${others} nodes`,
  );
}

/** Resolves once `add` of namespace `bench` answers from `server`'s point of view. */
export async function addCallable(server: MeshServer): Promise<void> {
  const proxy = await server.rpc('bench');
  await until(
    async () => {
      try {
        return (await proxy.call('add', 1, 2)) === 3;
      } catch {
        return false;
      }
    },
    () => `wsmesh ${server.id}: bench.add not callable`,
  );
}

/** Registers the benchmark functions of namespace `bench`: `add(a, b)` and `items(count)`. */
export function originBench(server: MeshServer): void {
  server.origin(
    function add(a: number, b: number) {
      return a + b;
    },
    { namespace: 'bench' },
  );
  server.origin(
    async function* items(count: number) {
      for (let index = 0; index < count; index++) yield index;
    },
    { namespace: 'bench' },
  );
}
