/**
 * `wsmesh start --workers N`: N clones on this machine, one process each, meshed with each
 * other. The parent forks worker 1 and waits until it listens, then forks the others with
 * worker 1 as their clone (the mesh's gossip links everyone to everyone). Ports are
 * consecutive from `--port` (or each free one with `--port 0`); ids are `<id>-1` ... `<id>-N`.
 * The parent forwards SIGINT/SIGTERM to its workers (by their PIDs), waits for them to stop,
 * and exits; a worker whose parent dies stops too.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { hostname } from 'node:os';
import { CliError, Exit } from './exit.js';
import type { CommandIo } from './io.js';
import {
  dashboardLines,
  isWildcard,
  newDashboardToken,
  urlHost,
  type WorkerReady,
} from './node-runner.js';
import { stopRequested } from './shutdown.js';
import { workerJson, type StartConfig } from './start-config.js';
import { BUNDLE_MISSING, isBundleBuilt } from './static-files.js';

/** Environment variable that carries a worker's configuration (config-file JSON). */
export const WORKER_ENV = 'WSMESH_WORKER_CONFIG';

/** How a worker process ended: its exit code, or the signal that killed it. */
export interface WorkerExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

interface Worker {
  index: number;
  child: ChildProcess;
  ready: WorkerReady | undefined;
  exited: Promise<WorkerExit>;
}

/** "exited with code 1", "was killed by SIGKILL": what the user needs to tell a crash apart. */
export function describeExit({ code, signal }: WorkerExit): string {
  if (signal !== null) return `was killed by ${signal}`;
  return `exited with code ${String(code)}`;
}

function isReady(message: unknown): message is WorkerReady {
  return (
    typeof message === 'object' &&
    message !== null &&
    (message as { type?: unknown }).type === 'ready' &&
    typeof (message as { url?: unknown }).url === 'string'
  );
}

function spawnWorker(script: string, index: number, json: string): Worker {
  const child = fork(script, ['start'], {
    env: { ...process.env, [WORKER_ENV]: json },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<WorkerExit>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return { index, child, ready: undefined, exited };
}

function waitReady(worker: Worker, timeoutMs: number): Promise<WorkerReady> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new CliError(`worker ${worker.index + 1} did not start within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: unknown): void => {
      if (!isReady(message)) return;
      cleanup();
      worker.ready = message;
      resolve(message);
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      cleanup();
      reject(
        new CliError(
          `worker ${worker.index + 1} ${describeExit({ code, signal })} during start`,
          code === null || code === 0 ? Exit.FAILED : code,
        ),
      );
    };
    const cleanup = (): void => {
      clearTimeout(timer);
      worker.child.off('message', onMessage);
      worker.child.off('exit', onExit);
    };
    worker.child.on('message', onMessage);
    worker.child.once('exit', onExit);
  });
}

async function stopWorkers(workers: Worker[]): Promise<void> {
  const alive = workers.filter(
    (worker) => worker.child.exitCode === null && worker.child.signalCode === null,
  );
  for (const worker of alive) worker.child.kill('SIGTERM');
  const killer = setTimeout(() => {
    for (const worker of alive) if (worker.child.exitCode === null) worker.child.kill('SIGKILL');
  }, 10_000);
  await Promise.all(alive.map((worker) => worker.exited));
  clearTimeout(killer);
}

/** Runs `config.workers` workers until asked to stop; resolves with the exit code. */
export async function runWorkers(
  config: StartConfig,
  io: CommandIo,
  script: string,
): Promise<number> {
  const count = config.workers;
  const base = config.id ?? `${hostname()}-${process.pid}`;
  const generatedToken =
    config.dashboard && config.dashboardToken === undefined ? newDashboardToken() : undefined;
  const shared: Partial<StartConfig> =
    generatedToken === undefined ? {} : { dashboardToken: generatedToken };
  const portOf = (index: number): number => (config.port === 0 ? 0 : config.port + index);
  if (config.port !== 0 && config.port + count - 1 > 65535) {
    throw new CliError(`ports ${config.port}..${config.port + count - 1} do not fit`, Exit.USAGE);
  }
  const workers: Worker[] = [];
  const stopping = stopRequested();
  try {
    const first = spawnWorker(
      script,
      0,
      workerJson(config, { ...shared, id: `${base}-1`, port: portOf(0), url: undefined }),
    );
    workers.push(first);
    const seed = await Promise.race([waitReady(first, 30_000), stopping.then(() => undefined)]);
    if (seed !== undefined) {
      for (let index = 1; index < count; index++) {
        workers.push(
          spawnWorker(
            script,
            index,
            workerJson(config, {
              ...shared,
              id: `${base}-${index + 1}`,
              port: portOf(index),
              url: undefined,
              clones: [...config.clones, { id: seed.id, url: seed.url }],
            }),
          ),
        );
      }
      await Promise.race([
        Promise.all(workers.slice(1).map((worker) => waitReady(worker, 30_000))),
        stopping,
      ]);
    }
  } catch (error) {
    await stopWorkers(workers);
    throw error;
  }
  const ready = workers.flatMap((worker) => (worker.ready === undefined ? [] : [worker.ready]));
  if (ready.length === count) {
    io.out(
      `wsmesh: ${count} workers ready: ${ready.map((worker) => `${worker.id} ${worker.url}`).join(', ')}`,
    );
    const seed = ready[0];
    const host = urlHost(isWildcard(config.host) ? '127.0.0.1' : config.host);
    if (config.staticDir !== undefined) {
      io.out(`  pages      ${ready.map((worker) => `http://${host}:${worker.port}/`).join(' ')}`);
      if (!isBundleBuilt()) io.err(`wsmesh: warning: ${BUNDLE_MISSING.trim()}`);
    }
    if (config.dashboard && seed !== undefined) {
      const suffix = config.path === '/' ? '' : config.path;
      const page = `http://${host}:${seed.port}${suffix}/_wsmesh`;
      for (const line of dashboardLines(page, generatedToken)) io.out(line);
      io.out('             (every worker serves one, with the same token)');
    }
    io.out('Ctrl+C stops every worker.');
  }
  // Until a signal, or until every worker is gone.
  let stoppingAll = false;
  const allExited = Promise.all(workers.map((worker) => worker.exited)).then(
    () => 'workers exited',
  );
  for (const worker of workers) {
    void worker.exited.then((exit) => {
      if (!stoppingAll && worker.ready !== undefined)
        io.err(`wsmesh: worker ${worker.ready.id} ${describeExit(exit)}`);
    });
  }
  const reason = await Promise.race([stopping, allExited]);
  if (reason === 'workers exited') return Exit.FAILED;
  stoppingAll = true;
  io.out(`wsmesh: ${reason}, stopping ${workers.length} workers`);
  await stopWorkers(workers);
  return Exit.OK;
}
