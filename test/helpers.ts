/**
 * Shared test helpers for wsmesh.
 *
 * - {@link waitFor} / {@link delay}: poll for a condition instead of sleeping for a fixed time.
 * - {@link startServer} / {@link startClient}: a real `Server` on 127.0.0.1 with an ephemeral
 *   port, and a started `Client` with quiet defaults.
 * - {@link connectRaw}: a raw `ws` WebSocket that speaks the wire protocol by hand (see
 *   src/protocol/frames.ts), to send what a well-behaved client never would.
 * - {@link upgradeStatus}: the HTTP status an upgrade request gets (101 when accepted).
 * - {@link Cleanup}: collects teardown steps so every test can release what it opened, even
 *   when an assertion fails half-way.
 *
 * Everything here is generic; nothing assumes a particular route or handler.
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { Client } from '../src/client/client.js';
import type { ClientOptions } from '../src/client/options.js';
import { Subprotocol } from '../src/protocol/codec.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import type { ServerOptions } from '../src/server/options.js';
import { Server } from '../src/server/server.js';
import type { Emitter, EventMap } from '../src/util/emitter.js';
import type { BaseClient, ClientEvents } from '../src/client/base-client.js';
import type { ServerEvents } from '../src/server/server.js';

/** Resolves after `ms` milliseconds. */
export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Polls `condition` every `intervalMs` until it returns a truthy value (which is returned), or
 * rejects after `timeoutMs`. Prefer this over fixed sleeps: it is fast when things are fast and
 * tolerant when the machine is busy.
 */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  timeoutMs = 5000,
  label = 'condition',
  intervalMs = 5,
): Promise<T> {
  const started = Date.now();
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() - started > timeoutMs) {
      throw new Error(`waitFor timed out after ${timeoutMs} ms: ${label}`);
    }
    await delay(intervalMs);
  }
}

/**
 * Rejects with `label` if `promise` does not settle within `timeoutMs`; otherwise settles like
 * it. Useful to turn "hangs forever" into a readable failure.
 */
export function within<T>(promise: Promise<T>, timeoutMs: number, label = 'operation'): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${label} did not settle within ${timeoutMs} ms`)),
      timeoutMs,
    );
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (error: unknown) => {
        clearTimeout(timer);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

/** Runs teardown steps in reverse order of registration; failures are ignored. */
export class Cleanup {
  private readonly steps: (() => unknown)[] = [];

  /** Registers a teardown step. */
  add(step: () => unknown): void {
    this.steps.push(step);
  }

  /** Runs (and forgets) every registered step, last registered first. */
  async run(): Promise<void> {
    while (this.steps.length > 0) {
      const step = this.steps.pop();
      try {
        await step?.();
      } catch {
        // Teardown must go on.
      }
    }
  }
}

/** A started server and where to reach it. */
export interface StartedServer {
  server: Server;
  /** `ws://127.0.0.1:<port><path>` */
  url: string;
  port: number;
}

/**
 * Creates and starts a `Server` on 127.0.0.1 with an ephemeral port (both can be overridden,
 * but tests should not). `setup` runs before `start()` (add routes and listeners there).
 * Remember to `await server.stop()` in `after`/`finally`.
 */
export async function startServer(
  options: ServerOptions = {},
  setup?: (server: Server) => void,
): Promise<StartedServer> {
  const server = new Server({ port: 0, host: '127.0.0.1', ...options });
  setup?.(server);
  await server.start();
  const port = server.port;
  if (port === undefined) throw new Error('server did not report its port');
  return { server, url: `ws://127.0.0.1:${port}${server.path}`, port };
}

/**
 * Creates and starts a `Client` for `url` (reconnect off unless given). Remember to
 * `await client.stop()`.
 */
export async function startClient(
  url: string | string[],
  options: Omit<ClientOptions, 'url'> = {},
): Promise<Client> {
  const client = new Client({ reconnect: false, ...options, url });
  await within(client.start(), 5000, 'client.start()');
  return client;
}

/** Codec spoken by a raw peer. */
export type RawCodec = 'json' | 'msgpack';

/** A plain MessagePack encoder/decoder, independent of the library's own codec. */
export const rawPackr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  variableMapSize: true,
});

/** Encodes any value as a raw peer of `codec` would put it on the wire. */
export function encodeRaw(codec: RawCodec, value: unknown): string | Buffer {
  return codec === 'json' ? JSON.stringify(value) : rawPackr.pack(value);
}

/** How a WebSocket closed. */
export interface CloseInfo {
  code: number;
  reason: string;
}

/** Options of {@link connectRaw}. */
export interface RawOptions {
  /** Codec used by `send` and to decode incoming frames. Default `json`. */
  codec?: RawCodec;
  /**
   * Subprotocols to offer. Default: the one of `codec`. `null` offers none (no
   * `Sec-WebSocket-Protocol` header).
   */
  protocols?: string | string[] | null;
  /**
   * Send HELLO and wait for WELCOME before resolving. `true` (default) sends
   * `{v: PROTOCOL_VERSION, id: <generated>}`; an object is sent as the HELLO body; `false`
   * sends nothing.
   */
  hello?: boolean | Record<string, unknown>;
  /** Largest frame this raw peer accepts. Default 64 MiB. */
  maxPayload?: number;
  /** ms to wait for the socket to open (and for WELCOME). Default 5000. */
  timeoutMs?: number;
}

let rawCounter = 0;

/** A frame as received by a raw peer: decoded value, or the undecodable bytes. */
export type RawFrame = unknown;

/** True for a decoded frame that is an array starting with `type` (and `id`, if given). */
export function isFrame(frame: RawFrame, type: number, id?: number): frame is unknown[] {
  return (
    Array.isArray(frame) && frame[0] === type && (id === undefined || (frame[1] as unknown) === id)
  );
}

/**
 * A raw WebSocket peer that speaks the wsmesh wire protocol by hand. Every incoming message is
 * decoded with the peer's codec and appended to {@link RawPeer.frames}.
 */
export class RawPeer {
  /** Decoded incoming frames, in arrival order. */
  readonly frames: RawFrame[] = [];
  /** Set once the socket closed. */
  closeInfo: CloseInfo | undefined;
  /** Resolves when the socket closed. */
  readonly closed: Promise<CloseInfo>;
  /** Socket errors seen (a raw peer never throws on them). */
  readonly errors: Error[] = [];
  /** Body of the WELCOME frame, once received. */
  welcome: Record<string, unknown> | undefined;

  private nextId = 1;
  private readonly listeners = new Set<() => void>();

  constructor(
    readonly ws: WebSocket,
    readonly codec: RawCodec,
  ) {
    this.closed = new Promise((resolve) => {
      ws.on('close', (code: number, reason: Buffer) => {
        this.closeInfo = { code, reason: reason.toString('utf8') };
        resolve(this.closeInfo);
        this.notify();
      });
    });
    ws.on('error', (error: Error) => this.errors.push(error));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      let frame: RawFrame;
      try {
        frame =
          codec === 'json' && !isBinary ? JSON.parse(data.toString('utf8')) : rawPackr.unpack(data);
      } catch {
        frame = { undecodable: data };
      }
      this.frames.push(frame);
      const body: unknown = Array.isArray(frame) ? frame[1] : undefined;
      if (isFrame(frame, FrameType.WELCOME) && typeof body === 'object' && body !== null) {
        this.welcome = body as Record<string, unknown>;
      }
      this.notify();
    });
  }

  /** True while the socket is open. */
  get open(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /** Encodes `value` with the peer's codec and sends it (JSON as text, MessagePack as binary). */
  send(value: unknown): void {
    this.ws.send(encodeRaw(this.codec, value));
  }

  /** Sends a text message as is. */
  sendText(text: string): void {
    this.ws.send(text, { binary: false });
  }

  /** Sends a binary message as is. */
  sendBinary(bytes: Uint8Array): void {
    this.ws.send(bytes, { binary: true });
  }

  /** Allocates a request id (unique per peer). */
  allocateId(): number {
    return this.nextId++;
  }

  /**
   * Resolves with the first frame at index `after` or later that matches `predicate`; rejects
   * after `timeoutMs` or when the socket closes first.
   */
  waitForFrame(
    predicate: (frame: RawFrame) => boolean,
    options: { after?: number; timeoutMs?: number } = {},
  ): Promise<RawFrame> {
    const after = options.after ?? 0;
    const timeoutMs = options.timeoutMs ?? 5000;
    return new Promise((resolve, reject) => {
      const check = (): void => {
        for (let index = after; index < this.frames.length; index++) {
          const frame = this.frames[index];
          if (predicate(frame)) {
            finish();
            resolve(frame);
            return;
          }
        }
        if (this.closeInfo !== undefined) {
          finish();
          reject(new Error(`socket closed (${this.closeInfo.code}) before the expected frame`));
        }
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`no matching frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = (): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /**
   * Sends MESSAGE `[2, id, route, act, data]` with a fresh id and resolves with the REPLY or
   * ERROR frame answering it.
   */
  async request(
    route: string | null,
    act: string | null,
    data: unknown,
    timeoutMs = 5000,
  ): Promise<unknown[]> {
    const id = this.allocateId();
    this.send([FrameType.MESSAGE, id, route, act, data]);
    const frame = await this.waitForFrame(
      (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
      { timeoutMs },
    );
    return frame as unknown[];
  }

  /** Resolves with how the socket closed; rejects after `timeoutMs`. */
  waitClose(timeoutMs = 5000): Promise<CloseInfo> {
    return within(this.closed, timeoutMs, 'socket close');
  }

  /** Drops the TCP connection at once. */
  terminate(): void {
    this.ws.terminate();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }
}

/**
 * Opens a raw WebSocket to `url` and (by default) performs the wsmesh handshake. Rejects when
 * the upgrade fails or no WELCOME comes.
 */
export async function connectRaw(url: string, options: RawOptions = {}): Promise<RawPeer> {
  const codec = options.codec ?? 'json';
  const timeoutMs = options.timeoutMs ?? 5000;
  const protocols =
    options.protocols === undefined ? Subprotocol[codec] : (options.protocols ?? undefined);
  const ws = new WebSocket(url, protocols, {
    perMessageDeflate: false,
    maxPayload: options.maxPayload ?? 64 * 1024 * 1024,
  });
  const peer = new RawPeer(ws, codec);
  await within(
    new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('close', () => reject(new Error('closed before open')));
    }),
    timeoutMs,
    'raw WebSocket open',
  );
  const hello = options.hello ?? true;
  if (hello !== false) {
    rawCounter++;
    const body = hello === true ? { v: PROTOCOL_VERSION, id: `raw-${rawCounter}` } : hello;
    peer.send([FrameType.HELLO, body]);
    await peer.waitForFrame((frame) => isFrame(frame, FrameType.WELCOME), { timeoutMs });
  }
  return peer;
}

/**
 * Attempts a WebSocket upgrade offering `protocols` and resolves with the HTTP status: 101 when
 * the upgrade was accepted (the socket is closed again at once), else the refusal's status.
 */
export function upgradeStatus(url: string, protocols?: string | string[]): Promise<number> {
  return within(
    new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, protocols, { perMessageDeflate: false });
      ws.on('unexpected-response', (request, response) => {
        resolve(response.statusCode ?? 0);
        response.resume();
        request.destroy();
      });
      ws.on('open', () => {
        resolve(101);
        ws.terminate();
      });
      ws.on('error', (error) => reject(error));
    }),
    5000,
    'upgrade',
  );
}

// ---------------------------------------------------------------------------------------------
// Helpers added for the server/client/groups integration tests.
// ---------------------------------------------------------------------------------------------

/**
 * Resolves with the payload of the next `event` of a wsmesh `Server` or `Client`; rejects
 * after `timeoutMs`. Register it before triggering the event.
 */
export function nextEvent<K extends keyof ServerEvents & string>(
  emitter: Server,
  event: K,
  timeoutMs?: number,
): Promise<ServerEvents[K]>;
export function nextEvent<K extends keyof ClientEvents & string>(
  emitter: BaseClient,
  event: K,
  timeoutMs?: number,
): Promise<ClientEvents[K]>;
export function nextEvent(
  emitter: Server | BaseClient,
  event: string,
  timeoutMs = 5000,
): Promise<unknown> {
  const source = emitter as unknown as Emitter<EventMap>;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      source.off(event, listener);
      reject(new Error(`nextEvent: no "${event}" event within ${timeoutMs} ms`));
    }, timeoutMs);
    const listener = (payload: unknown): void => {
      clearTimeout(timer);
      source.off(event, listener);
      resolve(payload);
    };
    source.on(event, listener);
  });
}

/** Stops servers and clients (undefined entries are skipped), ignoring errors. */
export async function stopAll(...items: ({ stop(): Promise<void> } | undefined)[]): Promise<void> {
  await Promise.all(items.map((item) => item?.stop().catch(() => undefined)));
}

/** Binds `port` on 127.0.0.1 and releases it; resolves with the port bound, or undefined if taken. */
function probePort(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const probe = createNetServer();
    probe.once('error', () => resolve(undefined));
    probe.listen(port, '127.0.0.1', () => {
      const address = probe.address();
      const bound = typeof address === 'object' && address !== null ? address.port : undefined;
      probe.close(() => resolve(bound));
    });
  });
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (for tests that restart on one port, or
 * configure ports before the servers start). Picked below the kernel's ephemeral range
 * (32768 and up by default), which outgoing connections and port-0 listeners of every other
 * process draw from: a port taken from there was seen taken again by the time a child process
 * listened on it.
 */
export async function getFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probePort(20_000 + Math.floor(Math.random() * 12_000));
    if (port !== undefined) return port;
  }
  const port = await probePort(0);
  if (port === undefined) throw new Error('no free port');
  return port;
}

/** Result of {@link runScript}. */
export interface ScriptResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Wall time from spawn to exit, in ms. */
  elapsedMs: number;
  /** True when the script was killed after `timeoutMs`. */
  timedOut: boolean;
}

/** File URL of the library entry point, for `import ... from` in {@link runScript} sources. */
export const LIBRARY_ENTRY = new URL('../src/index.ts', import.meta.url).href;

/**
 * Runs TypeScript `source` in a child Node process (through tsx) and resolves when it exits, or
 * after `timeoutMs` (the child is then killed and `timedOut` is true). Import the library in
 * `source` from {@link LIBRARY_ENTRY}. `child` is exposed to kill it early.
 */
export function runScript(
  source: string,
  options: {
    timeoutMs?: number;
    env?: Record<string, string>;
    onStdout?: (chunk: string) => void;
  } = {},
): Promise<ScriptResult> & { child: ChildProcess } {
  const dir = mkdtempSync(join(tmpdir(), 'wsmesh-script-'));
  const file = join(dir, 'script.mts');
  writeFileSync(file, source);
  const started = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
    options.onStdout?.(chunk);
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const promise = new Promise<ScriptResult>((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs ?? 15_000);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      rmSync(dir, { recursive: true, force: true });
      resolve({ code, signal, stdout, stderr, elapsedMs: Date.now() - started, timedOut });
    });
  });
  return Object.assign(promise, { child });
}

/** `ws://127.0.0.1:<port><path>` of a started server that listens on its own port. */
export function serverUrl(server: Server, path: string = server.path): string {
  if (server.port === undefined) throw new Error('serverUrl: the server is not listening');
  return `ws://127.0.0.1:${server.port}${path}`;
}

/** Sends HELLO with client id `id` on a raw peer and resolves with the WELCOME body. */
export async function sendHello(peer: RawPeer, id: string): Promise<Record<string, unknown>> {
  const from = peer.frames.length;
  peer.send([FrameType.HELLO, { v: PROTOCOL_VERSION, id }]);
  const frame = await peer.waitForFrame((f) => isFrame(f, FrameType.WELCOME), { after: from });
  return (frame as unknown[])[1] as Record<string, unknown>;
}
