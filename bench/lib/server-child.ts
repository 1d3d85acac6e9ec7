/**
 * Boilerplate of a server child process: start the server under test, report its port,
 * answer resource probes, and exit when the orchestrator goes away or says so.
 * @module
 */
import { createServer, type Server as NetServer } from 'node:net';
import { isProbeRequest, isSettleRequest, sendToParent, type ProbeReply } from './ipc.js';
import { takeSnapshot } from './snapshot.js';

/** What the orchestrator tells a server (several servers form one cluster in S3). */
export interface ServerArgument {
  /** Position of this server in its cluster (0 for the first one started). */
  index: number;
  /** Servers in the cluster (1 outside S3). The last one started serves the publisher. */
  servers: number;
  /** Ports of the servers of the cluster started before this one. */
  peerPorts: number[];
  /** Port of the redis-server the Socket.IO Redis adapter uses (S3), if any. */
  redisPort?: number;
  /** The contender (one server file may serve several: nats and nats-ws). */
  contender: string;
  /** Client ports of the nats-servers started for this trial (NATS contenders). */
  natsPorts: number[];
  /** Their WebSocket ports, in the same order. */
  natsWsPorts: number[];
  /**
   * Ports to listen on (default 1). One destination port gives one load process only the
   * ephemeral port range (~28,000 connections); the connections curve asks for more.
   */
  listeners: number;
}

function numbers(value: unknown): number[] {
  return Array.isArray(value)
    ? value.filter((item): item is number => typeof item === 'number')
    : [];
}

function serverArgument(): ServerArgument {
  const raw = process.argv[2];
  const parsed: unknown = raw === undefined ? {} : JSON.parse(raw);
  const record = (typeof parsed === 'object' && parsed !== null ? parsed : {}) as Record<
    string,
    unknown
  >;
  const peerPorts = numbers(record.peerPorts);
  return {
    index: typeof record.index === 'number' ? record.index : 0,
    servers: typeof record.servers === 'number' ? record.servers : peerPorts.length + 1,
    peerPorts,
    ...(typeof record.redisPort === 'number' ? { redisPort: record.redisPort } : {}),
    contender: typeof record.contender === 'string' ? record.contender : '',
    natsPorts: numbers(record.natsPorts),
    natsWsPorts: numbers(record.natsWsPorts),
    listeners: typeof record.listeners === 'number' ? record.listeners : 1,
  };
}

/** A started server under test. */
export interface StartedServer {
  /** Port it listens on (127.0.0.1). */
  port: number;
  /** More ports it listens on, when asked for `listeners` > 1. */
  extraPorts?: number[];
  /** Stops it. */
  close(): Promise<void>;
  /**
   * Resolves once the cluster is formed, called after every server of the cluster started
   * (wsmesh: linked to every other clone). None: nothing to wait for.
   */
  settle?(): Promise<void>;
}

/** Answers the orchestrator's settle request once `server` (when started) is settled. */
async function settle(server: StartedServer | undefined): Promise<void> {
  try {
    if (server === undefined) throw new Error('settle request before the server started');
    await server.settle?.();
    await sendToParent({ t: 'settled' });
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    console.error(message);
    await sendToParent({ t: 'error', message }).catch(() => undefined);
  }
}

async function shutdown(server: StartedServer | undefined, code: number): Promise<never> {
  const timer = setTimeout(() => process.exit(code), 1000);
  timer.unref();
  try {
    await server?.close();
  } catch {
    // Exiting anyway.
  }
  process.exit(code);
}

/** Runs `start` and serves probes until the parent disconnects or sends SIGTERM. */
export function runServerChild(start: (argument: ServerArgument) => Promise<StartedServer>): void {
  let server: StartedServer | undefined;
  process.on('disconnect', () => void shutdown(server, 0));
  process.on('SIGTERM', () => void shutdown(server, 0));
  process.on('message', (message: unknown) => {
    if (isSettleRequest(message)) {
      void settle(server);
      return;
    }
    if (!isProbeRequest(message)) return;
    const reply: ProbeReply = { t: 'probed', id: message.id, snapshot: takeSnapshot(message.gc) };
    void sendToParent(reply).catch(() => undefined);
  });
  start(serverArgument())
    .then(async (started) => {
      server = started;
      await sendToParent({ t: 'ready', port: started.port, extraPorts: started.extraPorts ?? [] });
    })
    .catch(async (error: unknown) => {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      console.error(message);
      await sendToParent({ t: 'error', message }).catch(() => undefined);
      await shutdown(server, 1);
    });
}

/**
 * Listens on `count` more 127.0.0.1 ports and hands every connection they accept to
 * `target` (an http server), as if it had accepted it. Resolves with the ports and a close.
 */
export async function extraListeners(
  count: number,
  target: NetServer,
): Promise<{ ports: number[]; close(): void }> {
  const servers = await Promise.all(
    Array.from(
      { length: Math.max(0, count) },
      () =>
        new Promise<NetServer>((resolve, reject) => {
          const server = createServer((socket) => target.emit('connection', socket));
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  return {
    ports: servers.map((server) => {
      const address = server.address();
      return typeof address === 'object' && address !== null ? address.port : 0;
    }),
    close: () => {
      for (const server of servers) server.close();
    },
  };
}
