/**
 * The client, independent of platform: connection lifecycle (round-robin urls, reconnect,
 * offline queue), routing of server messages, groups kept across reconnects. The Node and
 * browser clients differ only in the {@link Dialer} they pass in.
 * @module
 */
import {
  AbortError,
  AuthError,
  InvalidArgumentError,
  NotConnectedError,
  ProtocolError,
  ErrorCode,
  StoppedError,
  WsMeshError,
} from '../errors.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { codecForSubprotocol, loadCodec } from '../protocol/codecs.js';
import { CloseCode, FrameType, PROTOCOL_VERSION, type Frame } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import type { IncomingMessage } from '../routing/message.js';
import {
  NOT_ROUTED,
  Router,
  noRouteError,
  type Middleware,
  type RouteDefinition,
} from '../routing/router.js';
import {
  checkSendOptions,
  messageFrame,
  settleModes,
  type AwaitedSendMessageOptions,
  type SendMessageOptions,
} from '../routing/send-message.js';
import { Connection } from '../transport/connection.js';
import { DeadlineEntry, deadlines } from '../transport/deadline-queue.js';
import type { Dialer } from '../transport/dialer.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import type { WireSocket } from '../transport/wire-socket.js';
import { CIPHER_SCHEME, type CipherFactory } from '../transport/frame-cipher.js';
import { RpcCaller } from '../rpc/rpc-caller.js';
import { createProxy, type RpcProxy, type UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import { createProof, verifyServerProof } from '../rpc/secret.js';
import type { HelloBody, PeerKind, SecretProof, WelcomeBody } from '../protocol/frames.js';
import { Emitter } from '../util/emitter.js';
import { ClientMessageContext } from './context.js';
import {
  checkUrl,
  resolveClientOptions,
  type ClientOptions,
  type ResolvedClientOptions,
} from './options.js';
import { Outbox, QueuedFrame } from './outbox.js';

/** Payloads of client events. */
export interface ClientEvents {
  [event: string]: unknown;
  /** `start()` was called. */
  start: { client: BaseClient };
  /** A connection is established (after every reconnect too). */
  open: { client: BaseClient; url: string; serverId: string };
  /** A connection closed. */
  close: { client: BaseClient; url: string; code: number; reason: string };
  /** The client stopped (by `stop()`, or after giving up reconnecting). */
  stop: { client: BaseClient };
  /** Something went wrong (connection failure, refused subscription, bad frame...). */
  error: { client: BaseClient; error: Error };
}

/** Options of `sendMesToGroup`. */
export interface GroupMessageOptions {
  /** One group id, several, or none for every group. */
  id?: string | string[];
  /** Route name. */
  route?: string;
  /** Action within the route. */
  act?: string;
  /** Payload. */
  data?: unknown;
  /** Do not deliver the message back to this client. */
  notSendMe?: boolean;
  /** Resolve with the server's answer (number of deliveries on that server). */
  awaitRes?: boolean;
  /** Reply timeout in ms. */
  timeout?: number;
}

/** What `getInfo()` reports. */
export interface ClientInfo {
  id: string;
  /** Url of the current (or next) connection. */
  url: string | undefined;
  urls: string[];
  state: ClientState;
  connected: boolean;
  serverId: string | undefined;
  connectionId: string | undefined;
  codec: string | undefined;
  groups: string[];
  /** Frames waiting for a connection. */
  queued: number;
  /** Requests awaiting a reply on the current connection. */
  pending: number;
  /** Failed connection attempts in a row. */
  failedAttempts: number;
}

/** Lifecycle states of a client. */
export type ClientState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

/** Client middleware. */
export type ClientMiddleware<C> = Middleware<ClientMessageContext<C>>;
/** Client route definition. */
export type ClientRoute<C> = RouteDefinition<ClientMessageContext<C>>;

class WelcomeDeadline extends DeadlineEntry {
  constructor(private readonly socket: WireSocket) {
    super();
  }
  override expire(): void {
    this.socket.terminate();
  }
}

/** Platform-independent wsmesh client. Use `Client` (Node) or `WebClient` (browsers). */
export class BaseClient extends Emitter<ClientEvents> {
  /** Client id (sent to servers in HELLO). */
  readonly id: string;
  /** User data. */
  data: unknown;

  /** @internal */
  readonly options: ResolvedClientOptions;
  private readonly router = new Router<ClientMessageContext<this>>();
  private readonly heartbeat: HeartbeatMonitor;
  private readonly outbox: Outbox;
  private readonly groupIds = new Set<string>();
  private readonly urls: string[];
  private urlIndex = 0;
  private state: ClientState = 'idle';
  private socket: WireSocket | undefined;
  private connection: Connection | undefined;
  private welcomeDeadline: WelcomeDeadline | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private failedAttempts = 0;
  private switching = false;
  /** Set when the current url was deleted: the index already points at the next one. */
  private keepIndexOnce = false;
  private currentUrl: string | undefined;
  private serverId: string | undefined;
  private connectionId: string | undefined;
  private lastError: Error | undefined;
  private startWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];
  private readonly rpcCaller: RpcCaller;

  constructor(
    options: ClientOptions,
    private readonly dialer: Dialer,
    /** @internal What this client announces itself as (`rpc` for RpcProxy). */
    private readonly kind: PeerKind = 'client',
    /** @internal Payload encryption of this platform, when it has one (Node). */
    private readonly cipherFactory?: CipherFactory,
  ) {
    super();
    this.options = resolveClientOptions(options);
    this.id = this.options.id;
    this.data = this.options.data;
    this.urls = [...this.options.urls];
    this.heartbeat = new HeartbeatMonitor(this.options.heartbeatInterval);
    this.outbox = new Outbox(this.options.maxQueue);
    this.rpcCaller = new RpcCaller({
      request: (frame, callOptions) =>
        this.transmit(frame, true, callOptions.timeout, callOptions.signal),
      send: (frame) => {
        const connection = this.liveConnection();
        if (connection === undefined) throw new NotConnectedError('Not connected');
        connection.send(frame);
      },
    });
  }

  /**
   * An RPC proxy to `namespace` over this client's connection; resolves once the namespace's
   * functions are known. Closing it does not close the client.
   */
  rpc<Api = UntypedApi>(namespace: string = DEFAULT_NAMESPACE): Promise<RpcProxy<Api>> {
    const caller = this.rpcCaller;
    return createProxy<Api>(
      {
        call: (ns, name, args, callOptions) => caller.call(ns, name, args, callOptions),
        stream: (ns, name, args, callOptions) => caller.stream(ns, name, args, callOptions),
        list: (ns) => caller.list(ns),
        watch: (ns, listener) => caller.watch(ns, listener),
      },
      namespace,
      async () => undefined,
    );
  }

  /** True while a connection is established. */
  get connected(): boolean {
    return this.state === 'open';
  }

  /** Adds a middleware for messages the server sends to this client. */
  use(middleware: ClientMiddleware<this>): this {
    this.router.use(middleware);
    return this;
  }

  /** Adds a route for messages the server sends to this client. */
  addRoute(definition: ClientRoute<this>): this {
    this.router.addRoute(definition);
    return this;
  }

  /**
   * Connects. Resolves once the first connection is established; rejects if the client
   * gives up (`attempts`, `reconnect: false`) or is stopped first.
   */
  start(): Promise<void> {
    if (this.state === 'open') return Promise.resolve();
    const promise = new Promise<void>((resolve, reject) => {
      this.startWaiters.push({ resolve, reject });
    });
    if (this.state === 'idle' || this.state === 'stopped') {
      this.state = 'connecting';
      this.failedAttempts = 0;
      this.emit('start', { client: this });
      void this.dial();
    }
    return promise;
  }

  /** Closes the connection, stops reconnecting and fails everything still waiting. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'idle') return;
    this.state = 'stopped';
    this.clearTimers();
    const stopped = new StoppedError('The client was stopped');
    this.outbox.rejectAll(stopped);
    this.settleStart(stopped);
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    const socket = this.socket;
    if (socket !== undefined) {
      if (this.connection !== undefined) this.connection.close(CloseCode.NORMAL, 'client stopped');
      else socket.close(CloseCode.NORMAL, 'client stopped');
      const timer = setTimeout(() => socket.terminate(), 1000);
      await closed;
      clearTimeout(timer);
    }
    this.heartbeat.stop();
    this.log('stopped');
    this.emit('stop', { client: this });
  }

  /**
   * Sends a message: fire-and-forget (resolves once written), with `cbAfterRes`, or with
   * `awaitRes` (resolves with the reply; rejects with `TimeoutError`, `RemoteError`...).
   * While reconnecting, messages wait in a bounded queue and go out on reconnect.
   */
  sendMes<T = unknown>(options: AwaitedSendMessageOptions): Promise<T>;
  sendMes(options: SendMessageOptions): Promise<unknown>;
  sendMes(options: SendMessageOptions): Promise<unknown> {
    try {
      checkSendOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    const isRequest = options.awaitRes === true || options.cbAfterRes !== undefined;
    const reply = this.transmit(messageFrame(options), isRequest, options.timeout, options.signal);
    return isRequest ? settleModes(reply, options) : reply;
  }

  /** Joins a group. Kept across reconnects; refused subscriptions reject. */
  async subscribe(options: { id: string }): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('subscribe: id must be a non-empty string');
    if (this.groupIds.has(id)) return;
    this.groupIds.add(id);
    const connection = this.liveConnection();
    if (connection === undefined) return; // applied when the connection opens
    let member: unknown;
    try {
      member = await connection.request([FrameType.SUBSCRIBE, 0, id], {
        timeout: this.options.awaitResTimeout,
      });
    } catch (error) {
      if (error instanceof WsMeshError && error.code === ErrorCode.CONNECTION_CLOSED) return;
      this.groupIds.delete(id);
      throw error;
    }
    if (member === false) {
      this.groupIds.delete(id);
      throw new WsMeshError(
        'ERR_SUBSCRIBE_REFUSED',
        `The server did not apply the subscription to "${id}"`,
      );
    }
  }

  /** Leaves a group. */
  async unsubscribe(options: { id: string }): Promise<void> {
    const id = options?.id;
    if (!isName(id)) throw new InvalidArgumentError('unsubscribe: id must be a non-empty string');
    if (!this.groupIds.delete(id)) return;
    const connection = this.liveConnection();
    if (connection === undefined) return;
    try {
      await connection.request([FrameType.UNSUBSCRIBE, 0, id], {
        timeout: this.options.awaitResTimeout,
      });
    } catch (error) {
      if (error instanceof WsMeshError && error.code === ErrorCode.CONNECTION_CLOSED) return;
      throw error;
    }
  }

  /** Ids of the groups this client is in (known locally, so synchronous). */
  getMyGroups(): string[] {
    return [...this.groupIds];
  }

  /** Publishes to one group, several, or all (no `id`). */
  sendMesToGroup(options: GroupMessageOptions = {}): Promise<unknown> {
    const { id, route, act, data, notSendMe, awaitRes, timeout } = options;
    if (
      id !== undefined &&
      !isName(id) &&
      !(Array.isArray(id) && id.length > 0 && id.every(isName))
    ) {
      return Promise.reject(
        new InvalidArgumentError('sendMesToGroup: id must be a group id or ids'),
      );
    }
    try {
      checkSendOptions({ route, act, timeout });
    } catch (error) {
      return Promise.reject(error);
    }
    const frame = [
      FrameType.PUBLISH,
      0,
      id ?? null,
      route ?? null,
      act ?? null,
      data === undefined ? null : data,
      notSendMe === true,
    ];
    return this.transmit(frame, awaitRes === true, timeout, undefined);
  }

  /** State of the client. */
  getInfo(): ClientInfo {
    return {
      id: this.id,
      url: this.state === 'open' ? this.currentUrl : this.urls[this.urlIndex],
      urls: [...this.urls],
      state: this.state,
      connected: this.state === 'open',
      serverId: this.serverId,
      connectionId: this.connectionId,
      codec: this.connection?.codec.name,
      groups: this.getMyGroups(),
      queued: this.outbox.size,
      pending: this.connection?.pending.size ?? 0,
      failedAttempts: this.failedAttempts,
    };
  }

  /** Adds a server url to the round-robin list. Returns false if it was there. */
  addUrl(url: string): boolean {
    checkUrl(url);
    if (this.urls.includes(url)) return false;
    this.urls.push(url);
    return true;
  }

  /**
   * Removes a url (default: the current one). The current connection stays up; the url is
   * not used for the next attempts. Returns false if it was not in the list.
   */
  deleteUrl(url?: string): boolean {
    const target = url ?? this.urls[this.urlIndex];
    const index = target === undefined ? -1 : this.urls.indexOf(target);
    if (index === -1) return false;
    this.urls.splice(index, 1);
    if (index < this.urlIndex) this.urlIndex--;
    else if (index === this.urlIndex) this.keepIndexOnce = true;
    if (this.urlIndex >= this.urls.length) this.urlIndex = 0;
    return true;
  }

  /** Switches to the next url now (closing the current connection). Returns that url. */
  nextUrl(): string | undefined {
    if (this.urls.length === 0) return undefined;
    this.advanceUrl();
    const url = this.urls[this.urlIndex];
    if (this.state === 'stopped' || this.state === 'idle') return url;
    if (this.socket !== undefined) {
      this.switching = true;
      if (this.connection !== undefined) this.connection.close(CloseCode.NORMAL, 'switching url');
      else this.socket.terminate();
    } else {
      this.clearTimers();
      void this.dial();
    }
    return url;
  }

  /** Writes a frame now, or queues it until the next connection. */
  private transmit(
    frame: unknown[],
    isRequest: boolean,
    timeout: number | undefined,
    signal: AbortSignal | undefined,
  ): Promise<unknown> {
    if (this.state === 'idle' || this.state === 'stopped') {
      return Promise.reject(new NotConnectedError('The client is not started'));
    }
    const replyTimeout = timeout ?? this.options.awaitResTimeout;
    const connection = this.liveConnection();
    if (connection !== undefined) {
      if (isRequest) return connection.request(frame, { timeout: replyTimeout, signal });
      try {
        connection.send(frame);
        return Promise.resolve(undefined);
      } catch (error) {
        return Promise.reject(error);
      }
    }
    return new Promise((resolve, reject) => {
      if (signal?.aborted === true) {
        reject(new AbortError());
        return;
      }
      const entry = new QueuedFrame(
        this.outbox,
        frame,
        isRequest,
        replyTimeout,
        signal,
        resolve,
        reject,
        Date.now(),
      );
      this.outbox.push(entry);
      signal?.addEventListener(
        'abort',
        () => {
          this.outbox.remove(entry);
          reject(new AbortError());
        },
        { once: true },
      );
    });
  }

  private liveConnection(): Connection | undefined {
    return this.state === 'open' && this.connection !== undefined && !this.connection.closed
      ? this.connection
      : undefined;
  }

  private async dial(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.state === 'stopped') return;
    const url = this.urls[this.urlIndex];
    if (url === undefined) {
      this.giveUp(new NotConnectedError('No server url left to connect to'));
      return;
    }
    this.state = 'connecting';
    this.currentUrl = url;
    let codec: Codec;
    try {
      codec = await loadCodec(this.options.codec);
    } catch (error) {
      this.giveUp(error instanceof Error ? error : new Error(String(error)));
      return;
    }
    let proof: SecretProof | undefined;
    const secret = this.options.serverSecret;
    if (secret !== undefined) proof = await createProof(secret, this.kind, this.id);
    let credentials: unknown = this.options.credentials;
    if (typeof credentials === 'function') {
      try {
        credentials = await (credentials as () => unknown)();
      } catch (error) {
        this.lastError = error instanceof Error ? error : new Error(String(error));
        this.socketClosed(url, false, CloseCode.AUTH_FAILED, 'credentials failed');
        return;
      }
    }
    if (this.state !== 'connecting') return;
    this.log(`connecting to ${url}`);
    let socket: WireSocket | undefined;
    let welcomed = false;
    let held: [Frame, WirePayload][] | undefined;
    // When the connection closed itself (heartbeat, slow consumer...), its code is the one to report.
    let localClose: [number, string] | undefined;
    const onClose = (code: number, reason: string): void => {
      if (this.socket !== socket) return;
      if (this.connection !== undefined) this.connection.handleClosed(code, reason);
      const [finalCode, finalReason] = localClose ?? [code, reason];
      this.socketClosed(url, welcomed, finalCode, finalReason);
    };
    try {
      socket = this.dialer(
        url,
        [codec.subprotocol],
        {
          maxPayload: this.options.maxPayload,
          handshakeTimeout: this.options.handshakeTimeout,
          tls: this.options.tls,
        },
        {
          open: (protocol) => {
            if (this.socket !== socket || socket === undefined) return;
            const chosen =
              protocol === ''
                ? codecForSubprotocol(codec.subprotocol)
                : codecForSubprotocol(protocol);
            if (chosen === undefined) {
              this.lastError = new ProtocolError(
                ErrorCode.PROTOCOL,
                `Server chose unknown subprotocol ${protocol}`,
              );
              socket.close(CloseCode.PROTOCOL_ERROR, 'unknown subprotocol');
              return;
            }
            this.connection = new Connection(
              socket,
              {
                onFrame: (frame, raw) => {
                  if (held !== undefined) {
                    held.push([frame, raw]);
                    return;
                  }
                  if (frame[0] === FrameType.WELCOME) {
                    if (!welcomed) {
                      welcomed = true;
                      const body = frame[1];
                      if (secret !== undefined && proof !== undefined) {
                        // Frames right behind WELCOME wait until the server's proof is checked.
                        held = [];
                        if (this.options.encryption) {
                          if (body.enc !== CIPHER_SCHEME || this.cipherFactory === undefined) {
                            this.authRefused = new AuthError('The server did not agree to encrypt');
                            socket?.close(CloseCode.AUTH_FAILED, 'encryption refused');
                            return;
                          }
                          const current = this.connection;
                          if (current !== undefined) {
                            current.cipher = this.cipherFactory(
                              secret,
                              proof.nonce,
                              body.serverId,
                              this.id,
                            );
                          }
                        }
                        void this.checkServer(
                          secret,
                          proof.nonce,
                          body.serverId,
                          body.auth?.proof,
                          socket,
                        ).then((ok) => {
                          const waiting = held ?? [];
                          held = undefined;
                          if (!ok) return;
                          this.welcomed(url, body);
                          for (const [next, nextRaw] of waiting) this.handleFrame(next, nextRaw);
                        });
                        return;
                      }
                      this.welcomed(url, body);
                    }
                    return;
                  }
                  if (
                    !welcomed &&
                    frame[0] === FrameType.ERROR &&
                    frame[2].code === ErrorCode.AUTH
                  ) {
                    this.authRefused = new AuthError(frame[2].message);
                    return;
                  }
                  this.handleFrame(frame, raw);
                },
                onClose: (code, reason) => {
                  localClose ??= [code, reason];
                },
                onError: (error) => this.reportError(error),
              },
              {
                codec: chosen,
                maxBufferedBytes: this.options.maxBufferedBytes,
                requestTimeout: this.options.awaitResTimeout,
                localId: this.id,
              },
            );
            try {
              const hello: HelloBody = {
                v: PROTOCOL_VERSION,
                id: this.id,
                kind: this.kind,
                maxPayload: this.options.maxPayload,
              };
              if (proof !== undefined) hello.auth = proof;
              if (this.options.encryption) hello.enc = CIPHER_SCHEME;
              else {
                // Several frames per message from the server (PROTOCOL.md, "Batches").
                hello.batch = true;
                this.connection.acceptsBatches = true;
              }
              if (credentials !== undefined) hello.credentials = credentials;
              this.connection.send([FrameType.HELLO, hello]);
            } catch (error) {
              this.reportError(error);
            }
          },
          message: (payload) => {
            if (this.socket === socket) this.connection?.receive(payload);
          },
          invalidText: () => {
            if (this.socket === socket) this.connection?.refuseInvalidText();
          },
          close: onClose,
          error: (error) => {
            if (this.socket === socket) this.lastError = error;
          },
        },
      );
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      this.socketClosed(url, false, CloseCode.INTERNAL_ERROR, this.lastError.message);
      return;
    }
    this.socket = socket;
    // Covers the wsmesh handshake after the WebSocket one (the dialer covers that part).
    this.welcomeDeadline = new WelcomeDeadline(socket);
    deadlines.add(this.welcomeDeadline, this.options.handshakeTimeout);
  }

  private authRefused: AuthError | undefined;

  /** Checks that the server proved the secret too (so it is not an impostor collecting calls). */
  private async checkServer(
    secret: string,
    nonce: string,
    serverId: string,
    proof: string | undefined,
    socket: WireSocket | undefined,
  ): Promise<boolean> {
    const ok = proof !== undefined && (await verifyServerProof(secret, serverId, nonce, proof));
    if (!ok) {
      this.authRefused = new AuthError(`Server "${serverId}" did not prove the server secret`);
      socket?.close(CloseCode.AUTH_FAILED, 'server failed authentication');
    }
    return ok;
  }

  private welcomed(url: string, body: WelcomeBody): void {
    const { serverId, connectionId, maxPayload } = body;
    const connection = this.connection;
    if (connection === undefined) return;
    if (this.welcomeDeadline !== undefined) deadlines.remove(this.welcomeDeadline);
    this.welcomeDeadline = undefined;
    connection.peerMaxPayload = maxPayload;
    if (body.batch === true) connection.startBatching();
    this.serverId = serverId;
    this.connectionId = connectionId;
    this.failedAttempts = 0;
    this.lastError = undefined;
    if (this.state === 'stopped') return;
    this.state = 'open';
    this.heartbeat.add(connection);
    // Subscriptions first, so queued publishes and messages come after them.
    for (const groupId of this.groupIds) {
      connection.request([FrameType.SUBSCRIBE, 0, groupId]).then(
        (member) => {
          if (member !== false) return;
          this.groupIds.delete(groupId);
          this.reportError(
            new WsMeshError('ERR_SUBSCRIBE_REFUSED', `The server did not restore "${groupId}"`),
          );
        },
        (error: unknown) => {
          if (error instanceof WsMeshError && error.code === ErrorCode.CONNECTION_CLOSED) return;
          this.groupIds.delete(groupId);
          this.reportError(error);
        },
      );
    }
    const now = Date.now();
    for (const entry of this.outbox.drain()) {
      if (entry.isRequest) {
        const left = entry.timeout - (now - entry.createdAt);
        connection
          .request(entry.frame, { timeout: Math.max(1, left), signal: entry.signal })
          .then(entry.resolve, entry.reject);
      } else {
        try {
          connection.send(entry.frame);
          entry.resolve(undefined);
        } catch (error) {
          entry.reject(error as WsMeshError);
        }
      }
    }
    this.log(`open ${url} (server ${serverId})`);
    this.emit('open', { client: this, url, serverId });
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const waiter of waiters) waiter.resolve();
  }

  private handleFrame(frame: Frame, raw: WirePayload): void {
    switch (frame[0]) {
      case FrameType.MESSAGE: {
        const id = frame[1];
        const mes: IncomingMessage = {
          kind: 'message',
          route: frame[2],
          act: frame[3],
          data: frame[4],
          awaitRes: id !== 0,
        };
        this.route(mes, raw, id);
        return;
      }
      case FrameType.GROUP_MESSAGE: {
        const mes: IncomingMessage = {
          kind: 'message',
          route: frame[2],
          act: frame[3],
          data: frame[4],
          awaitRes: false,
          group: frame[1],
        };
        this.route(mes, raw, 0);
        return;
      }
      case FrameType.ERROR:
        this.reportError(
          new WsMeshError(frame[2].code, `Server error: ${frame[2].message}`, frame[2].data),
        );
        return;
      case FrameType.MEMBERSHIP:
        // The server changed a membership itself (a route, group deletion...): follow it.
        if (frame[2]) this.groupIds.add(frame[1]);
        else this.groupIds.delete(frame[1]);
        return;
      default:
        if (this.rpcCaller.handleFrame(frame)) return;
        this.connection?.replyError(
          0,
          new ProtocolError(
            ErrorCode.PROTOCOL,
            `Frame type ${frame[0]} is not accepted by a client`,
          ),
        );
    }
  }

  private route(mes: IncomingMessage, raw: WirePayload, id: number): void {
    // Replies go to the connection the message came on, even if another one is up by then.
    const connection = this.connection;
    const context = new ClientMessageContext<this>(mes, raw, this);
    let result: unknown;
    try {
      result = this.router.dispatch(context);
    } catch (error) {
      this.routeFailed(connection, id, error);
      return;
    }
    // Closures only for results that arrive later; group messages are mostly synchronous.
    if (result instanceof Promise) {
      result.then(
        (value) => this.routeDone(connection, mes, id, value),
        (error: unknown) => this.routeFailed(connection, id, error),
      );
    } else this.routeDone(connection, mes, id, result);
  }

  private routeDone(
    connection: Connection | undefined,
    mes: IncomingMessage,
    id: number,
    result: unknown,
  ): void {
    if (id === 0) return;
    if (result === NOT_ROUTED) connection?.replyError(id, noRouteError(mes.route, mes.act));
    else connection?.reply(id, result);
  }

  private routeFailed(connection: Connection | undefined, id: number, error: unknown): void {
    if (id !== 0) connection?.replyError(id, error);
    else this.reportError(error);
  }

  private socketClosed(url: string, wasOpen: boolean, code: number, reason: string): void {
    const connection = this.connection;
    if (connection !== undefined) this.heartbeat.delete(connection);
    if (this.welcomeDeadline !== undefined) deadlines.remove(this.welcomeDeadline);
    this.welcomeDeadline = undefined;
    this.socket = undefined;
    this.connection = undefined;
    this.serverId = undefined;
    this.rpcCaller.connectionClosed();
    this.connectionId = undefined;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const resolve of waiters) resolve();
    if (wasOpen) {
      this.log(`closed ${url} (${code}${reason === '' ? '' : ` ${reason}`})`);
      this.emit('close', { client: this, url, code, reason });
    }
    if (this.state === 'stopped') return;
    const switching = this.switching;
    this.switching = false;
    if (switching) {
      void this.dial();
      return;
    }
    const authRefused =
      this.authRefused ??
      (code === CloseCode.AUTH_FAILED ? new AuthError('Authentication refused') : undefined);
    this.authRefused = undefined;
    if (authRefused !== undefined) {
      // A wrong secret will not fix itself: stop at once instead of hanging or retrying.
      this.giveUp(authRefused);
      return;
    }
    if (!wasOpen) {
      this.failedAttempts++;
      const error =
        this.lastError ?? new NotConnectedError(`Could not connect to ${url} (${code})`);
      this.lastError = undefined;
      this.reportError(error);
      // An 'error' listener may have stopped the client (RpcProxy.create does): no redial then.
      if ((this.state as ClientState) === 'stopped') return;
    }
    if (!this.options.reconnect) {
      this.giveUp(new NotConnectedError(`Connection to ${url} closed and reconnect is off`));
      return;
    }
    if (this.options.attempts > 0 && this.failedAttempts >= this.options.attempts) {
      this.giveUp(new NotConnectedError(`Gave up after ${this.failedAttempts} failed attempts`));
      return;
    }
    this.advanceUrl();
    this.state = 'waiting';
    // A dropped connection is retried at once (on the next url); failed attempts wait.
    const delay = wasOpen ? 0 : this.options.reconnectTimeout;
    this.reconnectTimer = setTimeout(() => void this.dial(), delay);
  }

  private advanceUrl(): void {
    if (this.keepIndexOnce) {
      this.keepIndexOnce = false;
      return;
    }
    if (this.urls.length > 0) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
  }

  private giveUp(error: Error): void {
    this.state = 'stopped';
    this.clearTimers();
    const notConnected =
      error instanceof WsMeshError ? error : new NotConnectedError(error.message);
    this.outbox.rejectAll(notConnected);
    this.settleStart(notConnected);
    this.heartbeat.stop();
    this.reportError(error);
    this.log('gave up');
    this.emit('stop', { client: this });
  }

  private settleStart(error: Error): void {
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    if (this.welcomeDeadline !== undefined) deadlines.remove(this.welcomeDeadline);
  }

  private reportError(error: unknown): void {
    const err = error instanceof Error ? error : new Error(String(error));
    if (!this.options.silent) console.error(`[wsmesh client ${this.id}] error:`, err.message);
    this.emit('error', { client: this, error: err });
  }

  protected override reportListenerError(error: unknown): void {
    this.reportError(error);
  }

  private log(message: string): void {
    if (!this.options.silent) console.log(`[wsmesh client ${this.id}] ${message}`);
  }
}
