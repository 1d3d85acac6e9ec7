/**
 * Helpers for the clone tests (test/clones.test.ts, test/clones-process.test.ts).
 *
 * - {@link startClone} / {@link startMesh}: clones on 127.0.0.1 with a free port and a `url`.
 * - {@link knowsAll} / {@link linkedAll}: mesh convergence as seen from `server.clones`.
 * - {@link startInbox}: a client that subscribes to groups and records what it receives.
 * - {@link awaitInterest}: publishes probes until every inbox got one, so the subscriptions
 *   are known on every clone before the real messages go out.
 * - {@link startTcpProxy}: a TCP proxy in front of a clone whose connections can be cut.
 * - {@link CloneProcess}: a clone in its own process (test/fixtures/clone-node.ts).
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer as createNetServer, connect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/client/client.js';
import type { ClientOptions } from '../src/client/options.js';
import type { Frame, GroupTarget } from '../src/protocol/frames.js';
import type { ServerOptions } from '../src/server/options.js';
import { Server } from '../src/server/server.js';
import { getFreePort, waitFor, within } from './helpers.js';

/** A started clone. */
export interface Clone {
  server: Server;
  id: string;
  /** Port it listens on. */
  port: number;
  /** Its direct address, `ws://127.0.0.1:<port>`. */
  url: string;
  /** Errors reported through its `error` event. */
  errors: Error[];
}

function isAddressInUse(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { code?: unknown }).code === 'EADDRINUSE'
  );
}

/**
 * Starts a clone on a free port of 127.0.0.1 whose `url` is that address (unless `options`
 * gives another one). Default `cloneInterval` 200 ms, silent. Retries if the port was taken
 * between probing and listening.
 */
export async function startClone(id: string, options: ServerOptions = {}): Promise<Clone> {
  for (let attempt = 0; ; attempt++) {
    const port = await getFreePort();
    const url = `ws://127.0.0.1:${port}`;
    const server = new Server({
      id,
      port,
      host: '127.0.0.1',
      url,
      cloneInterval: 200,
      silent: true,
      ...options,
    });
    const errors: Error[] = [];
    server.on('error', ({ error }) => errors.push(error));
    try {
      await server.start();
    } catch (error) {
      if (attempt < 5 && isAddressInUse(error)) continue;
      throw error;
    }
    const bound = server.port ?? port;
    return { server, id, port: bound, url: `ws://127.0.0.1:${bound}`, errors };
  }
}

/**
 * Starts one clone per id; every clone after the first is told about the first one only
 * (`addClone`), and the mesh is awaited until every clone has a direct link to every other.
 */
export async function startMesh(
  ids: string[],
  options: ServerOptions | ((id: string) => ServerOptions) = {},
): Promise<Clone[]> {
  const clones: Clone[] = [];
  try {
    for (const id of ids) {
      clones.push(await startClone(id, typeof options === 'function' ? options(id) : options));
    }
    const [first, ...rest] = clones;
    if (first !== undefined)
      for (const clone of rest) clone.server.addClone({ id: first.id, url: first.url });
    await waitFor(() => linkedAll(clones), 5000, `mesh ${ids.join(',')} fully linked`);
  } catch (error) {
    await stopClones(clones);
    throw error;
  }
  return clones;
}

/** Stops clones, ignoring errors. */
export async function stopClones(clones: Clone[]): Promise<void> {
  await Promise.all(clones.map((clone) => clone.server.stop().catch(() => undefined)));
}

/** Sorted ids of `server.clones.clones`. */
export function knownIds(server: Server): string[] {
  return [...server.clones.clones.keys()].sort();
}

/** Sorted ids of the clones `server` has a direct link to. */
export function linkedIds(server: Server): string[] {
  return server.clones.linkedIds().sort();
}

function othersOf(clones: Clone[], clone: Clone): string {
  return clones
    .filter((other) => other !== clone)
    .map((other) => other.id)
    .sort()
    .join(',');
}

/** True when every clone knows exactly the others (and never itself). */
export function knowsAll(clones: Clone[]): boolean {
  return clones.every((clone) => knownIds(clone.server).join(',') === othersOf(clones, clone));
}

/** True when every clone has a direct link to every other and knows exactly them. */
export function linkedAll(clones: Clone[]): boolean {
  return (
    knowsAll(clones) &&
    clones.every((clone) => linkedIds(clone.server).join(',') === othersOf(clones, clone))
  );
}

/**
 * Calls `listener` with every frame `server` receives over its clone links (gossip, relay),
 * before the server handles it. Returns a function that stops watching.
 */
export function watchCloneFrames(
  server: Server,
  listener: (peerId: string, frame: Frame) => void,
): () => void {
  const manager = server.clones;
  const handle = manager.linkFrame;
  manager.linkFrame = function watched(link, frame) {
    listener(link.peerId, frame);
    handle.call(this, link, frame);
  };
  return () => {
    manager.linkFrame = handle;
  };
}

/**
 * When something was seen (a dial attempt, through an `auth` or `authError` event), so a test
 * checks the spacing of attempts instead of counting them over a fixed sleep.
 */
export class Attempts {
  /** `performance.now()` of each attempt, in order. */
  readonly times: number[] = [];

  /** Records an attempt now (pass it as an event listener). */
  readonly note = (): void => {
    this.times.push(performance.now());
  };

  /** Attempts seen so far. */
  get count(): number {
    return this.times.length;
  }

  /** Waits until `count` attempts were seen; resolves with the gaps (ms) between them. */
  async gapsOnceSeen(count: number, timeoutMs = 10_000): Promise<number[]> {
    await waitFor(() => this.times.length >= count, timeoutMs, `${count} attempts`);
    return this.times.slice(1).map((time, index) => time - (this.times[index] ?? time));
  }
}

/**
 * Asserts a dialer backs off: after three failures in a row the wait is at least twice
 * `cloneInterval` (the backoff doubles from `cloneInterval / 4`; jitter only adds). A dialer
 * that retries at a fixed pace, or without waiting, fails this. `gaps` must span at least
 * three failures.
 */
export function assertBacksOff(gaps: number[], cloneInterval: number): void {
  const last = gaps.at(-1) ?? 0;
  // Timers may fire a millisecond early.
  if (last < 2 * cloneInterval - 2) {
    throw new Error(`redialed after ${last.toFixed(0)} ms: no backoff (gaps ${gaps.join(', ')})`);
  }
}

/** A group message as a client received it. */
export interface Received {
  route: string | null;
  act: string | null;
  data: unknown;
  group: GroupTarget | undefined;
}

/** A client that records every group message it receives. */
export interface Inbox {
  client: Client;
  messages: Received[];
  /** The messages with route `route`. */
  of(route: string): Received[];
}

/** A RECOVER event as a client reports it. */
export interface RecoverEvent {
  group: string;
  recovered: boolean;
}

/**
 * Records what `inbox` sees of a failover: its RECOVER events (returned), and in `counts`, for
 * each, how many messages came between its close and that RECOVER (only recovered ones: live
 * messages wait for the resume).
 */
export function watchRecovery(inbox: Inbox, counts: number[]): RecoverEvent[] {
  const events: RecoverEvent[] = [];
  let atClose = 0;
  inbox.client.on('close', () => {
    atClose = inbox.of('msg').length;
  });
  inbox.client.on('recover', ({ group, recovered }) => {
    events.push({ group, recovered });
    counts.push(inbox.of('msg').length - atClose);
  });
  return events;
}

/**
 * Starts a client on `url` (reconnect off unless given), records every message the server
 * sends it, and subscribes to `groups`.
 */
export async function startInbox(
  url: string | string[],
  groups: string[],
  options: Omit<ClientOptions, 'url'> = {},
): Promise<Inbox> {
  const client = new Client({ reconnect: false, silent: true, ...options, url });
  const messages: Received[] = [];
  client.addRoute({
    handler: ({ mes }) => {
      messages.push({ route: mes.route, act: mes.act, data: mes.data, group: mes.group });
    },
  });
  await within(client.start(), 5000, 'client.start()');
  for (const id of groups) await client.subscribe({ id });
  return {
    client,
    messages,
    of: (route) => messages.filter((message) => message.route === route),
  };
}

/** Stops clients, ignoring errors. */
export async function stopInboxes(inboxes: Inbox[]): Promise<void> {
  await Promise.all(inboxes.map((inbox) => inbox.client.stop().catch(() => undefined)));
}

/**
 * Calls `publishProbe(tag)` (which should publish a message with route `probe` and data
 * `tag`) until every inbox received that probe: then the clone of the publisher knows the
 * subscriptions of the inboxes.
 */
export async function awaitInterest(
  publishProbe: (tag: string) => unknown,
  inboxes: Inbox[],
  timeoutMs = 5000,
): Promise<void> {
  const tag = `probe-${Math.random()}`;
  // One probe per round: any copy that arrives proves the interest was known when it was sent.
  await waitFor(
    async () => {
      if (inboxes.every((inbox) => inbox.of('probe').some((message) => message.data === tag)))
        return true;
      await publishProbe(tag);
      return false;
    },
    timeoutMs,
    'every inbox received a probe',
    20,
  );
}

/** Payload of the numbered test messages: publisher name and sequence number. */
export interface Numbered {
  p: string;
  n: number;
}

function isNumbered(value: unknown): value is Numbered {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { p?: unknown }).p === 'string' &&
    typeof (value as { n?: unknown }).n === 'number'
  );
}

/** The numbered messages (route `msg`) of an inbox, per publisher, in arrival order. */
export function sequences(inbox: Inbox): Map<string, number[]> {
  const byPublisher = new Map<string, number[]>();
  for (const message of inbox.of('msg')) {
    if (!isNumbered(message.data)) continue;
    const list = byPublisher.get(message.data.p);
    if (list === undefined) byPublisher.set(message.data.p, [message.data.n]);
    else list.push(message.data.n);
  }
  return byPublisher;
}

/** `[from, from + 1, ..., to - 1]`. */
export function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let n = from; n < to; n++) out.push(n);
  return out;
}

/** Publishes `count` numbered messages (route `msg`) from `client` to `target`. */
export function publishNumbered(
  client: Client,
  name: string,
  target: string | string[],
  from: number,
  to: number,
): void {
  for (let n = from; n < to; n++) {
    // A failed publish shows up as a missing message; no unhandled rejection.
    client
      .sendMesToGroup({ id: target, route: 'msg', data: { p: name, n } })
      .catch(() => undefined);
  }
}

/** A probe publisher for {@link awaitInterest}. */
export function prober(
  client: Client,
  target: string | string[] | undefined,
): (tag: string) => Promise<unknown> {
  return (tag) => client.sendMesToGroup({ id: target, route: 'probe', data: tag });
}

/**
 * Sends a `done` marker per publisher and waits until every inbox got all of them: whatever
 * these publishers sent before through the same clones arrived first.
 */
export async function deliverMarker(
  publishers: Client[],
  target: string | string[],
  inboxes: Inbox[],
): Promise<void> {
  const marker = `done-${Math.random()}`;
  for (const publisher of publishers) {
    publisher.sendMesToGroup({ id: target, route: 'done', data: marker }).catch(() => undefined);
  }
  await waitFor(
    () =>
      inboxes.every(
        (inbox) =>
          inbox.of('done').filter((message) => message.data === marker).length >= publishers.length,
      ),
    10_000,
    'every inbox received the done markers',
  );
}

/**
 * {@link deliverMarker}, then a probe from every inbox's own server to every inbox. Every hop
 * is FIFO, so whatever reached the inboxes' servers before the marker, and whatever they passed
 * on from there (a copy on another path, through a clone or a backplane node), arrived before
 * these probes: a late duplicate shows up before `flush` returns. Not covered: a copy that only
 * passes servers hosting none of `inboxes`, or history answering a request sent after the probes.
 */
export async function flush(
  publishers: Client[],
  target: string | string[],
  inboxes: Inbox[],
): Promise<void> {
  await deliverMarker(publishers, target, inboxes);
  // A probe is published again until it got everywhere: a server learns of the others'
  // subscribers by gossip, and the copy that arrives was sent after everything before it.
  await Promise.all(
    inboxes.map((inbox) =>
      awaitInterest(
        // A refused publish is simply tried again next round.
        (tag) => prober(inbox.client, target)(tag).catch(() => undefined),
        inboxes,
        10_000,
      ),
    ),
  );
}

/** A TCP proxy to a port on 127.0.0.1, whose connections can be cut. */
export interface TcpProxy {
  port: number;
  /** Connections accepted and forwarded so far. */
  forwarded: number;
  /** Connections refused while cut. */
  refused: number;
  /** Drops every forwarded connection and refuses new ones until {@link TcpProxy.restore}. */
  cut(): void;
  /**
   * A silent network cut: stops forwarding in both directions without closing anything (no
   * FIN, no RST reaches either side), and new connections are accepted but never forwarded.
   * Only heartbeats can tell. {@link TcpProxy.restore} ends it for new connections.
   */
  freeze(): void;
  /** Forwards new connections again. */
  restore(): void;
  /** Drops everything and stops listening. */
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} on a free port of 127.0.0.1 forwarding to `targetPort`. */
export function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const pairs = new Set<[Socket, Socket]>();
  let refusing = false;
  let frozen = false;
  /** Sockets held open by a freeze, destroyed by close(). */
  const held = new Set<Socket>();
  const hold = (socket: Socket): void => {
    held.add(socket);
    socket.pause();
    socket.on('error', () => undefined);
  };
  const dropAll = (): void => {
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  const listener = createNetServer((incoming) => {
    if (frozen) {
      hold(incoming);
      return;
    }
    if (refusing) {
      proxy.refused++;
      incoming.destroy();
      return;
    }
    proxy.forwarded++;
    const outgoing = connect(targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [incoming, outgoing];
    pairs.add(pair);
    const drop = (): void => {
      if (!pairs.has(pair)) return; // frozen or already dropped
      pairs.delete(pair);
      incoming.destroy();
      outgoing.destroy();
    };
    incoming.on('error', drop).on('close', drop);
    outgoing.on('error', drop).on('close', drop);
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
  });
  const proxy: TcpProxy = {
    port: 0,
    forwarded: 0,
    refused: 0,
    cut: () => {
      refusing = true;
      dropAll();
    },
    freeze: () => {
      frozen = true;
      for (const [incoming, outgoing] of pairs) {
        incoming.unpipe(outgoing);
        outgoing.unpipe(incoming);
        hold(incoming);
        hold(outgoing);
      }
      pairs.clear();
    },
    restore: () => {
      refusing = false;
      frozen = false;
    },
    close: () =>
      new Promise<void>((resolve) => {
        refusing = true;
        frozen = false;
        dropAll();
        for (const socket of held) socket.destroy();
        held.clear();
        listener.close(() => resolve());
      }),
  };
  return new Promise((resolve, reject) => {
    listener.once('error', reject);
    listener.listen(0, '127.0.0.1', () => {
      const address = listener.address();
      proxy.port = typeof address === 'object' && address !== null ? address.port : 0;
      resolve(proxy);
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Clones in their own processes (test/fixtures/clone-node.ts).
// ---------------------------------------------------------------------------------------------

/** What a clone process reports about its mesh. */
export interface CloneStatus {
  id: string;
  clones: { id: string; state: string }[];
  linked: string[];
}

/** Configuration of a clone process (see test/fixtures/clone-node.ts). */
export interface CloneProcessOptions {
  id: string;
  port: number;
  /** Clones to `addClone` at start. */
  peers?: { id: string; url: string }[];
  /** Shared token for authFnIn/authFnOut. */
  token?: string;
  /** ms. Default 200. */
  cloneInterval?: number;
  /** Directory with key.pem and cert.pem: serve wss and trust that certificate. */
  tlsDir?: string;
  /** Server option `history` (size and ttl), as JSON in `CLONE_HISTORY`. */
  history?: { size: number; ttl?: number };
  /** Every group lists presence. */
  presence?: boolean;
  /** `heartbeatInterval` in ms. */
  heartbeatInterval?: number;
  /** NATS urls: the clone runs on the NATS backplane (`CLONE_NATS`). */
  nats?: string[];
}

const FIXTURE = fileURLToPath(new URL('./fixtures/clone-node.ts', import.meta.url));

type IpcMessage = { type?: unknown; nonce?: unknown; status?: unknown; error?: unknown };

/** A clone running test/fixtures/clone-node.ts in a child process. */
export class CloneProcess {
  readonly child: ChildProcess;
  /** Resolves when the child exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once the clone listens and has added its peers. */
  readonly ready: Promise<void>;
  /** Output of the child, for failure messages. */
  output = '';
  private nonce = 0;
  private readonly waiting = new Map<number, (status: CloneStatus) => void>();

  constructor(readonly options: CloneProcessOptions) {
    const env: Record<string, string> = {
      CLONE_ID: options.id,
      CLONE_PORT: String(options.port),
      CLONE_PEERS: (options.peers ?? []).map((peer) => `${peer.id}=${peer.url}`).join(','),
      CLONE_INTERVAL: String(options.cloneInterval ?? 200),
    };
    if (options.token !== undefined) env.CLONE_TOKEN = options.token;
    if (options.tlsDir !== undefined) env.CLONE_TLS_DIR = options.tlsDir;
    if (options.history !== undefined) env.CLONE_HISTORY = JSON.stringify(options.history);
    if (options.presence === true) env.CLONE_PRESENCE = '1';
    if (options.heartbeatInterval !== undefined)
      env.CLONE_HEARTBEAT = String(options.heartbeatInterval);
    if (options.nats !== undefined) env.CLONE_NATS = options.nats.join(',');
    this.child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      cwd: fileURLToPath(new URL('..', import.meta.url)),
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    });
    const append = (chunk: Buffer): void => {
      this.output += chunk.toString('utf8');
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => resolve({ code, signal }));
    });
    this.ready = new Promise((resolve, reject) => {
      this.child.on('message', (raw: unknown) => {
        const message = raw as IpcMessage;
        if (message.type === 'ready') resolve();
        else if (message.type === 'failed')
          reject(new Error(`clone ${options.id}: ${String(message.error)}`));
        else if (message.type === 'status' && typeof message.nonce === 'number') {
          this.waiting.get(message.nonce)?.(message.status as CloneStatus);
          this.waiting.delete(message.nonce);
        }
      });
      void this.exited.then(({ code, signal }) =>
        reject(
          new Error(
            `clone ${options.id} exited (${String(code ?? signal)}) before ready:\n${this.output}`,
          ),
        ),
      );
    });
  }

  /** `ws(s)://127.0.0.1:<port>` */
  get url(): string {
    return `${this.options.tlsDir === undefined ? 'ws' : 'wss'}://127.0.0.1:${this.options.port}`;
  }

  /** Asks the clone for its view of the mesh. */
  status(timeoutMs = 2000): Promise<CloneStatus> {
    const nonce = ++this.nonce;
    const reply = new Promise<CloneStatus>((resolve) => this.waiting.set(nonce, resolve));
    this.child.send({ type: 'status', nonce });
    return within(reply, timeoutMs, `status of ${this.options.id}`).finally(() =>
      this.waiting.delete(nonce),
    );
  }

  /** True while the child runs. */
  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Kills the child (by its PID) and waits for it to exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.running) this.child.kill(signal);
    await within(this.exited, 5000, `exit of clone ${this.options.id}`);
  }

  /** Asks the clone to stop cleanly; kills it if it does not exit in time. */
  async stop(): Promise<void> {
    if (!this.running) return;
    try {
      this.child.send({ type: 'stop' });
      await within(this.exited, 3000, `clean stop of ${this.options.id}`);
    } catch {
      await this.kill();
    }
  }
}

/** Starts a clone process and waits until it is ready; kills it if it does not get there. */
export async function startCloneProcess(options: CloneProcessOptions): Promise<CloneProcess> {
  const clone = new CloneProcess(options);
  try {
    await within(clone.ready, 15_000, `clone ${options.id} ready`);
  } catch (error) {
    await clone.kill().catch(() => undefined);
    throw error;
  }
  return clone;
}
