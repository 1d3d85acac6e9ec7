/**
 * One trial: a fresh server process for one contender, a fresh load generator process
 * against it, probes relayed from the loader to the server, both processes stopped at the end.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { spawnChild, stopChild, waitForMessage } from './children.js';
import { contenderFile, type ContenderName } from './contenders.js';
import {
  isProbeReply,
  isProbeRequest,
  isReady,
  isResult,
  type Metrics,
  type ProbeReply,
  type ProbeRequest,
} from './ipc.js';

/** What to run. */
export interface TrialSpec {
  contender: ContenderName;
  /** Load generator script, relative to the repository root. */
  loaderScript: string;
  /** Scenario counts handed to the loader (contender and port are added). */
  loaderConfig: object;
  /** Limit for the whole trial once the server is up. */
  timeoutMs: number;
  /** Extra node flags of the server process (e.g. --cpu-prof). */
  serverFlags?: string[];
  /** Extra node flags of the load generator process. */
  loaderFlags?: string[];
}

const SERVER_START_MS = 20_000;
const PROBE_MS = 10_000;

async function relayProbe(
  server: ChildProcess,
  loader: ChildProcess,
  request: ProbeRequest,
): Promise<void> {
  if (!server.connected) throw new Error('server IPC channel is closed');
  const reply = waitForMessage(
    server,
    (message) => (isProbeReply(message) && message.id === request.id ? message : undefined),
    PROBE_MS,
    'server probe',
  );
  server.send(request);
  const answer: ProbeReply = await reply;
  if (loader.connected) loader.send(answer);
}

function serverExit(server: ChildProcess): Promise<never> {
  return new Promise((_resolve, reject) => {
    server.once('exit', (code, signal) => {
      reject(
        new Error(
          `server exited during the trial (code ${String(code)}, signal ${String(signal)})`,
        ),
      );
    });
  });
}

/** Runs one trial and returns the loader's metrics. Every process started here is stopped. */
export async function runTrial(spec: TrialSpec): Promise<Metrics> {
  const server = spawnChild(`bench/servers/${contenderFile(spec.contender)}.ts`, {}, [
    '--expose-gc',
    ...(spec.serverFlags ?? []),
  ]);
  let loader: ChildProcess | undefined;
  try {
    const ready = await waitForMessage(
      server,
      (message) => (isReady(message) ? message : undefined),
      SERVER_START_MS,
      `${spec.contender} server start`,
    );
    const exited = serverExit(server);
    exited.catch(() => undefined);
    const child = spawnChild(
      spec.loaderScript,
      { ...spec.loaderConfig, contender: spec.contender, port: ready.port },
      spec.loaderFlags ?? [],
    );
    loader = child;
    child.on('message', (message: unknown) => {
      if (isProbeRequest(message)) {
        relayProbe(server, child, message).catch((error: unknown) => {
          console.error(
            `probe relay failed: ${error instanceof Error ? error.message : String(error)}`,
          );
        });
      }
    });
    const result = waitForMessage(
      child,
      (message) => (isResult(message) ? message.metrics : undefined),
      spec.timeoutMs,
      `${spec.contender} load`,
    );
    return await Promise.race([result, exited]);
  } finally {
    // A process writing a CPU profile on exit needs longer than the usual grace period.
    const grace = spec.serverFlags?.includes('--cpu-prof') === true ? 15_000 : 3_000;
    await Promise.all([
      loader === undefined ? undefined : stopChild(loader, grace),
      stopChild(server, grace),
    ]);
  }
}
