/**
 * Helpers for the RPC cluster tests (test/cluster.test.ts, test/cluster-process.test.ts) and
 * the cluster example:
 *
 * - {@link LinkRelay}: a TCP relay between two linked servers that can reset its connections
 *   (a crash as seen from the network), black-hole them (a silent network cut, detected only
 *   by heartbeats) and come back on the same port.
 * - {@link RpcNodeProcess}: a server in its own process (test/fixtures/rpc-node.ts), driven
 *   over stdin/stdout JSON lines.
 * - small utilities: {@link functionNames}, {@link callFn}, {@link median}.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createServer as createNetServer,
  connect,
  type Server as NetServer,
  type Socket,
} from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FunctionInfo } from '../src/protocol/frames.js';
import { within } from './helpers.js';

/** Sorted names of a function list. */
export function functionNames(functions: readonly FunctionInfo[]): string[] {
  return functions.map((info) => info.name).sort();
}

/** True when `functions` lists every name of `wanted`. */
export function hasAll(functions: readonly FunctionInfo[], wanted: readonly string[]): boolean {
  const present = new Set(functions.map((info) => info.name));
  return wanted.every((name) => present.has(name));
}

/** True when `functions` lists none of `unwanted`. */
export function hasNone(functions: readonly FunctionInfo[], unwanted: readonly string[]): boolean {
  const present = new Set(functions.map((info) => info.name));
  return unwanted.every((name) => !present.has(name));
}

/**
 * `proxy[name]` of an untyped proxy as a callable (with `noUncheckedIndexedAccess` the index
 * signature of an untyped proxy reads as possibly undefined).
 */
export function callFn(proxy: object, name: string): (...args: unknown[]) => Promise<unknown> {
  const fn: unknown = (proxy as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`proxy.${name} is not a function`);
  return fn as (...args: unknown[]) => Promise<unknown>;
}

/** `proxy[name]` of an untyped proxy as a generator (stream) function. */
export function streamFn(
  proxy: object,
  name: string,
): (...args: unknown[]) => AsyncIterableIterator<unknown> {
  const fn: unknown = (proxy as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new Error(`proxy.${name} is not a function`);
  return fn as (...args: unknown[]) => AsyncIterableIterator<unknown>;
}

/** Median of a list of numbers (NaN when empty). */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const upper = sorted[middle] ?? Number.NaN;
  if (sorted.length % 2 === 1) return upper;
  return ((sorted[middle - 1] ?? upper) + upper) / 2;
}

/** Milliseconds with two decimals since `started` (a `performance.now()` value). */
export function elapsedMs(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}

// ---------------------------------------------------------------------------------------------
// A relay between two servers whose connections can be reset or black-holed.
// ---------------------------------------------------------------------------------------------

/**
 * A TCP relay on 127.0.0.1 in front of `targetPort`: link a server through it
 * (`createServerProxy({host: '127.0.0.1', port: relay.port, ...})`) to break that one link
 * without touching the servers.
 */
export class LinkRelay {
  /** Port the relay listens on (kept across {@link LinkRelay.cut} / {@link LinkRelay.restore}). */
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;
  private listener: NetServer | undefined;
  private readonly pairs = new Set<[Socket, Socket]>();
  private silent = false;

  private constructor(private readonly targetPort: number) {}

  /** Starts a relay on a free port of 127.0.0.1. */
  static async start(targetPort: number): Promise<LinkRelay> {
    const relay = new LinkRelay(targetPort);
    await relay.listen(0);
    return relay;
  }

  /** Resets every relayed connection (as a crash would) and refuses new ones. */
  async cut(): Promise<void> {
    this.dropAll();
    await this.unlisten();
  }

  /**
   * Stops moving bytes without closing anything, on existing and new connections: a silent
   * network cut, which only heartbeats can detect.
   */
  blackhole(): void {
    this.silent = true;
    for (const [a, b] of this.pairs) {
      a.unpipe(b);
      b.unpipe(a);
      a.resume();
      b.resume();
    }
  }

  /** Relays new connections again (listening again on the same port after a cut). */
  async restore(): Promise<void> {
    this.silent = false;
    // Black-holed connections stay useless: drop them so the peers notice at once.
    this.dropAll();
    if (this.listener === undefined) await this.listen(this.port);
  }

  /** Drops everything and stops listening. */
  async close(): Promise<void> {
    this.dropAll();
    await this.unlisten();
  }

  private listen(port: number): Promise<void> {
    const listener = createNetServer((incoming) => this.relay(incoming));
    return new Promise((resolve, reject) => {
      listener.once('error', reject);
      listener.listen(port, '127.0.0.1', () => {
        listener.off('error', reject);
        const address = listener.address();
        this.port = typeof address === 'object' && address !== null ? address.port : 0;
        this.listener = listener;
        resolve();
      });
    });
  }

  private unlisten(): Promise<void> {
    const listener = this.listener;
    this.listener = undefined;
    if (listener === undefined) return Promise.resolve();
    return new Promise((resolve) => listener.close(() => resolve()));
  }

  private relay(incoming: Socket): void {
    this.accepted++;
    if (this.silent) {
      // Accepted but never answered: the dialer's handshake times out.
      incoming.on('error', () => incoming.destroy());
      incoming.resume();
      const pair: [Socket, Socket] = [incoming, incoming];
      this.pairs.add(pair);
      incoming.on('close', () => this.pairs.delete(pair));
      return;
    }
    const outgoing = connect(this.targetPort, '127.0.0.1');
    // As ws does on its own sockets: no Nagle delay on small frames (credits, replies).
    incoming.setNoDelay(true);
    outgoing.setNoDelay(true);
    const pair: [Socket, Socket] = [incoming, outgoing];
    this.pairs.add(pair);
    const drop = (): void => {
      this.pairs.delete(pair);
      incoming.destroy();
      outgoing.destroy();
    };
    incoming.on('error', drop).on('close', drop);
    outgoing.on('error', drop).on('close', drop);
    incoming.pipe(outgoing);
    outgoing.pipe(incoming);
  }

  private dropAll(): void {
    for (const [a, b] of this.pairs) {
      // resetAndDestroy sends RST where the platform allows it: the peers see a crash.
      a.resetAndDestroy();
      if (b !== a) b.resetAndDestroy();
    }
    this.pairs.clear();
  }
}

// ---------------------------------------------------------------------------------------------
// Servers in their own processes (test/fixtures/rpc-node.ts).
// ---------------------------------------------------------------------------------------------

/** A function the fixture registers: `kind` picks its body (see the fixture). */
export interface RpcNodeFunction {
  name: string;
  namespace: string;
  /** `id`: `(value) => ({server, value})`; `slow`: `async (ms) => ({server, ms})`, reported when it starts. */
  kind?: 'id' | 'slow';
}

/** A link the fixture creates once started. */
export interface RpcNodeLink {
  port: number;
  namespace: string;
  path?: string;
  serverSecret?: string;
}

/** Configuration of one fixture process. */
export interface RpcNodeConfig {
  id: string;
  /** 0 picks a free port (reported in the `ready` event). */
  port: number;
  secret: string;
  /** `[group, ...namespaces]` for `createNamespaceGroup`. */
  groups?: string[][];
  functions?: RpcNodeFunction[];
  links?: RpcNodeLink[];
}

/** A live link as a fixture reports it (`server.serverLinks()`). */
export interface RpcNodeLinkStatus {
  peerId: string;
  namespace: string;
  direction: 'in' | 'out';
  routes: number;
  inFlight: number;
}

/** A JSON line written by a fixture. */
export type RpcNodeEvent = Record<string, unknown> & { type?: unknown };

const FIXTURE = fileURLToPath(new URL('./fixtures/rpc-node.ts', import.meta.url));

/** A server in its own process. Kill it by PID ({@link RpcNodeProcess.kill}); stop it in `after`. */
export class RpcNodeProcess {
  /** Every JSON line received, in order. */
  readonly events: RpcNodeEvent[] = [];
  /** Port the server listens on, once ready. */
  port = 0;
  /** Resolves when the process exited. */
  readonly exited: Promise<void>;
  private running = true;
  private nonce = 0;
  private readonly listeners = new Set<() => void>();
  private stderr = '';

  private constructor(
    readonly config: RpcNodeConfig,
    readonly child: ChildProcess,
  ) {
    this.exited = new Promise((resolve) => {
      child.once('exit', () => {
        this.running = false;
        this.notify();
        resolve();
      });
    });
    if (child.stdout !== null) {
      createInterface({ input: child.stdout }).on('line', (line) => {
        let event: unknown;
        try {
          event = JSON.parse(line);
        } catch {
          return;
        }
        if (typeof event === 'object' && event !== null) {
          this.events.push(event as RpcNodeEvent);
          this.notify();
        }
      });
    }
    child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr = (this.stderr + chunk).slice(-4000);
    });
  }

  /** Spawns the fixture and resolves once its server listens. */
  static async start(config: RpcNodeConfig, timeoutMs = 20_000): Promise<RpcNodeProcess> {
    const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], {
      env: { ...process.env, RPC_NODE_CONFIG: JSON.stringify(config) },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const node = new RpcNodeProcess(config, child);
    try {
      const ready = await node.waitEvent(
        (event) => event.type === 'ready' || event.type === 'failed',
        timeoutMs,
      );
      if (ready.type === 'failed')
        throw new Error(`${config.id} failed to start: ${String(ready.error)}`);
      node.port = Number(ready.port);
    } catch (error) {
      node.kill('SIGKILL');
      throw error;
    }
    return node;
  }

  /** Id of the server. */
  get id(): string {
    return this.config.id;
  }

  /** True until the process exited. */
  get alive(): boolean {
    return this.running;
  }

  /** Resolves with the first event (from index `after`) matching `predicate`. */
  waitEvent(
    predicate: (event: RpcNodeEvent) => boolean,
    timeoutMs = 10_000,
    after = 0,
  ): Promise<RpcNodeEvent> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let index = after; index < this.events.length; index++) {
          const event = this.events[index];
          if (event !== undefined && predicate(event)) {
            finish();
            resolve(event);
            return;
          }
        }
        if (!this.running) {
          finish();
          reject(new Error(`${this.id} exited before the expected event; stderr: ${this.stderr}`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(
          new Error(`${this.id}: no matching event within ${timeoutMs} ms; stderr: ${this.stderr}`),
        );
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Events of `type` received so far. */
  count(type: string): number {
    return this.events.filter((event) => event.type === type).length;
  }

  /** Live links of the server. */
  async links(): Promise<RpcNodeLinkStatus[]> {
    const nonce = ++this.nonce;
    const from = this.events.length;
    this.send({ cmd: 'status', nonce });
    const reply = await this.waitEvent(
      (event) => event.type === 'status' && event.nonce === nonce,
      5000,
      from,
    );
    return Array.isArray(reply.links) ? (reply.links as RpcNodeLinkStatus[]) : [];
  }

  /** Sends a signal to the process (by its PID). */
  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }

  /** SIGTERM, then SIGKILL if it does not exit within 3 s. */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.kill('SIGTERM');
    try {
      await within(this.exited, 3000, `${this.id} exit`);
    } catch {
      this.kill('SIGKILL');
      await this.exited;
    }
  }

  private send(message: Record<string, unknown>): void {
    this.child.stdin?.write(`${JSON.stringify(message)}\n`);
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}
