/**
 * One trial: a fresh server process for one contender, a fresh load generator process
 * against it, probes relayed from the loader to the server, both processes stopped at the end.
 * @module
 */
import type { ChildProcess } from 'node:child_process';
import { spawnChild, stopChild, waitForMessage } from './children.js';
import { contenderFile, natsServersFor, type ContenderName } from './contenders.js';
import {
  isProbeReply,
  isProbeRequest,
  isReady,
  isResult,
  isSettled,
  type Metrics,
  type ProbeReply,
  type ProbeRequest,
} from './ipc.js';
import { startNatsCluster, type NatsCluster } from './nats-server.js';
import { procSnapshot } from './proc-snapshot.js';

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
  /**
   * Server processes (default 1). Each is told the ports of those started before it and the
   * cluster size; once all are up, each is asked to settle (wsmesh: until every clone is
   * linked to every other). The loader gets `ports` with the last one started first (S3: the
   * server the publisher uses). With 0, the loader runs alone (S5, S6: it starts its own
   * servers).
   */
  servers?: number;
  /** Port of a running redis-server, handed to every server (S3, Socket.IO). */
  redisPort?: number;
  /** PID of that redis-server: its CPU and RSS count with the servers' (it is the broker). */
  redisPid?: number;
  /** Ports each server listens on (default 1; see ServerArgument.listeners). */
  listeners?: number;
  /** Open-file limit to give the server and loader processes (raised only when allowed). */
  fileLimit?: number;
}

const SERVER_START_MS = 20_000;
const SETTLE_MS = 20_000;
const PROBE_MS = 10_000;

async function probeOne(server: ChildProcess, request: ProbeRequest): Promise<ProbeReply> {
  if (!server.connected) throw new Error('server IPC channel is closed');
  const reply = waitForMessage(
    server,
    (message) => (isProbeReply(message) && message.id === request.id ? message : undefined),
    PROBE_MS,
    'server probe',
  );
  server.send(request);
  return reply;
}

/**
 * Probes every server (and reads the brokers' /proc figures: nats-server, redis-server) and
 * answers the loader with the sum of their snapshots.
 */
async function relayProbe(
  servers: readonly ChildProcess[],
  brokers: readonly number[],
  loader: ChildProcess,
  request: ProbeRequest,
): Promise<void> {
  const replies = await Promise.all(servers.map((server) => probeOne(server, request)));
  const first = replies[0];
  if (first === undefined) throw new Error('no server to probe');
  const snapshot = { ...first.snapshot };
  const others = [
    ...replies.slice(1).map((reply) => reply.snapshot),
    ...brokers.flatMap((pid) => procSnapshot(pid) ?? []),
  ];
  for (const other of others) {
    snapshot.cpuUser += other.cpuUser;
    snapshot.cpuSystem += other.cpuSystem;
    snapshot.rss += other.rss;
    snapshot.heapUsed += other.heapUsed;
    snapshot.external += other.external;
  }
  const answer: ProbeReply = { t: 'probed', id: request.id, snapshot };
  if (loader.connected) loader.send(answer);
}

/** Asks every server of a cluster to settle and waits until all did. */
async function settleCluster(
  contender: ContenderName,
  servers: readonly ChildProcess[],
): Promise<void> {
  await Promise.all(
    servers.map((server, index) => {
      const settled = waitForMessage(
        server,
        (message) => (isSettled(message) ? true : undefined),
        SETTLE_MS,
        `${contender} server ${index + 1} settle`,
      );
      server.send({ t: 'settle' });
      return settled;
    }),
  );
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
  const servers: ChildProcess[] = [];
  const ports: number[] = [];
  const extraPorts: number[] = [];
  let loader: ChildProcess | undefined;
  let nats: NatsCluster | undefined;
  try {
    const exits: Promise<never>[] = [];
    const count = spec.servers ?? 1;
    const natsCount = natsServersFor(spec.contender, count);
    if (natsCount > 0) nats = await startNatsCluster(natsCount);
    const brokers = [
      ...(nats?.nodes.map((node) => node.pid) ?? []),
      ...(spec.redisPid === undefined ? [] : [spec.redisPid]),
    ];
    for (let index = 0; index < count; index++) {
      const server = spawnChild(
        `bench/servers/${contenderFile(spec.contender)}.ts`,
        {
          index,
          servers: count,
          peerPorts: [...ports],
          contender: spec.contender,
          listeners: spec.listeners ?? 1,
          ...(spec.redisPort === undefined ? {} : { redisPort: spec.redisPort }),
          ...(nats === undefined
            ? {}
            : {
                natsPorts: nats.nodes.map((node) => node.port),
                natsWsPorts: nats.nodes.map((node) => node.wsPort),
              }),
        },
        ['--expose-gc', ...(spec.serverFlags ?? [])],
        spec.fileLimit,
      );
      servers.push(server);
      const ready = await waitForMessage(
        server,
        (message) => (isReady(message) ? message : undefined),
        SERVER_START_MS,
        `${spec.contender} server ${index + 1} start`,
      );
      ports.push(ready.port);
      extraPorts.push(...(ready.extraPorts ?? []));
      const exited = serverExit(server);
      exited.catch(() => undefined);
      exits.push(exited);
    }
    if (count > 1) await settleCluster(spec.contender, servers);
    const loaderPorts = [...[...ports].reverse(), ...extraPorts];
    const child = spawnChild(
      spec.loaderScript,
      {
        ...spec.loaderConfig,
        contender: spec.contender,
        port: loaderPorts[0] ?? 0,
        ports: loaderPorts,
        natsPorts: nats?.nodes.map((node) => node.port) ?? [],
      },
      spec.loaderFlags ?? [],
      spec.fileLimit,
    );
    loader = child;
    child.on('message', (message: unknown) => {
      if (isProbeRequest(message)) {
        relayProbe(servers, brokers, child, message).catch((error: unknown) => {
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
    return await Promise.race([result, ...exits]);
  } finally {
    // A process writing a CPU profile on exit needs longer than the usual grace period.
    const grace = spec.serverFlags?.includes('--cpu-prof') === true ? 15_000 : 3_000;
    await Promise.all([
      loader === undefined ? undefined : stopChild(loader, grace),
      ...servers.map((server) => stopChild(server, grace)),
    ]);
    await nats?.stop();
  }
}
