/**
 * The connection lifecycle of a client: dialing the urls in turn, WELCOME (groups restored,
 * the offline queue flushed), closes, reconnecting at once or after `reconnectTimeout`,
 * switching urls, and giving up; whether to redial or give up is decided by
 * {@link afterClose}. Each attempt is a {@link ClientSession}, prepared by attempt-prep.ts
 * (codec, credentials); a failed one is told by attempt-failures.ts.
 * @module
 */
import { NotConnectedError, StoppedError, WsMeshError, type AuthError } from '../errors.js';
import { connectFailure } from './connect-failure.js';
import { CloseCode, type PeerKind, type WelcomeBody } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import type { Dialer } from '../transport/dialer.js';
import type { CipherFactory } from '../transport/frame-cipher.js';
import { HeartbeatMonitor } from '../transport/heartbeat.js';
import { AttemptFailures } from './attempt-failures.js';
import { prepareAttempt } from './attempt-prep.js';
import type { ClientInfo, ClientState } from './client-events.js';
import type { FrameSink } from './client-router.js';
import { ClientSession, type SessionHost } from './client-session.js';
import type { ResolvedClientOptions } from './options.js';
import { afterClose } from './reconnect-policy.js';
import { UrlRotation } from './url-rotation.js';
import type { ConnectorHost, ErrorListened } from './connector-host.js';

/** Connects one client and keeps it connected. */
export class ClientConnector<C extends ErrorListened> implements SessionHost {
  readonly id: string;
  readonly kind: PeerKind;
  readonly options: ResolvedClientOptions;
  readonly dialer: Dialer;
  readonly cipherFactory: CipherFactory | undefined;
  readonly frames: FrameSink;
  /** Lifecycle state of the client (read through `state`). */
  private phase: ClientState = 'idle';
  /** The server urls, in turn. */
  readonly urls: UrlRotation;
  private readonly heartbeat: HeartbeatMonitor;
  /** The current connection attempt, from dialing until its socket closed. */
  private session: ClientSession | undefined;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private failedAttempts = 0;
  /** Set by `nextUrl()`: the close it causes redials at once, on the next url. */
  private switching = false;
  private currentUrl: string | undefined;
  private serverId: string | undefined;
  private connectionId: string | undefined;
  /** Why the current attempt is failing, reported when it closes before WELCOME. */
  private lastError: Error | undefined;
  /** Set when the server refused authentication: the close that follows gives up. */
  private authRefused: AuthError | undefined;
  /** Set once a connection was established since `start()` (`failFast` applies before). */
  private openedSinceStart = false;
  private readonly failures: AttemptFailures<C>;
  /** The `stop()` in progress: it resolves once the socket closed. */
  private stopping: Promise<void> | undefined;
  private startWaiters: { resolve: () => void; reject: (error: Error) => void }[] = [];
  private closeWaiters: (() => void)[] = [];

  constructor(private readonly host: ConnectorHost<C>) {
    const { options } = host;
    this.id = options.id;
    this.kind = host.kind;
    this.options = options;
    this.dialer = host.dialer;
    this.cipherFactory = host.cipherFactory;
    this.frames = host.frames;
    this.urls = new UrlRotation(options.urls);
    this.heartbeat = new HeartbeatMonitor(options.heartbeatInterval);
    this.failures = new AttemptFailures(host, () => this.failedAttempts);
  }

  /**
   * Connects. Resolves once the first connection is established; rejects if the client
   * gives up (`attempts`, `reconnect: false`) or is stopped first.
   */
  start(): Promise<void> {
    if (this.phase === 'open') return Promise.resolve();
    const promise = new Promise<void>((resolve, reject) => {
      this.startWaiters.push({ resolve, reject });
    });
    if (this.phase === 'idle' || this.phase === 'stopped') {
      this.phase = 'connecting';
      this.failedAttempts = 0;
      this.openedSinceStart = false;
      this.failures.reset();
      this.host.emit('start', { client: this.host.client });
      void this.dial();
    }
    return promise;
  }

  /**
   * Closes the connection, stops reconnecting and fails everything still waiting. `stop` is
   * emitted first, while the connection is still up, so its listeners can still send a last
   * message.
   */
  stop(): Promise<void> {
    if (this.stopping !== undefined) return this.stopping;
    if (this.phase === 'stopped' || this.phase === 'idle') return Promise.resolve();
    // Set before the listeners run, so a `stop()` inside one gets this same promise.
    let finish!: () => void;
    const stopping = new Promise<void>((resolve) => {
      finish = resolve;
    });
    this.stopping = stopping;
    void this.doStop().then(finish, finish);
    return stopping.finally(() => {
      if (this.stopping === stopping) this.stopping = undefined;
    });
  }

  private async doStop(): Promise<void> {
    // What the listeners send goes out before the close frame.
    this.host.emit('stop', { client: this.host.client });
    this.phase = 'stopped';
    this.clearTimers();
    const stopped = new StoppedError('The client was stopped');
    this.host.outbox.rejectAll(stopped);
    this.settleStart(stopped);
    const closed = new Promise<void>((resolve) => this.closeWaiters.push(resolve));
    const session = this.session;
    if (session !== undefined) {
      const { socket } = session;
      if (session.connection !== undefined) {
        session.connection.close(CloseCode.NORMAL, 'client stopped');
      } else socket.close(CloseCode.NORMAL, 'client stopped');
      const timer = setTimeout(() => socket.terminate(), 1000);
      await closed;
      clearTimeout(timer);
    }
    this.heartbeat.stop();
    this.log('stopped');
  }

  /** Switches to the next url now (closing the current connection). Returns that url. */
  nextUrl(): string | undefined {
    if (this.urls.size === 0) return undefined;
    this.urls.advance();
    const url = this.urls.current;
    if (this.phase === 'stopped' || this.phase === 'idle') return url;
    if (this.session !== undefined) {
      this.switching = true;
      if (this.connection !== undefined) this.connection.close(CloseCode.NORMAL, 'switching url');
      else this.session.socket.terminate();
    } else {
      this.clearTimers();
      void this.dial();
    }
    return url;
  }

  /** Lifecycle state of the client. */
  get state(): ClientState {
    return this.phase;
  }

  /** What `client.getInfo()` reports. */
  info(): ClientInfo {
    return {
      id: this.id,
      url: this.phase === 'open' ? this.currentUrl : this.urls.current,
      urls: this.urls.list(),
      state: this.state,
      connected: this.phase === 'open',
      serverId: this.serverId,
      connectionId: this.connectionId,
      codec: this.connection?.codec.name,
      groups: this.host.groups.list(),
      queued: this.host.outbox.size,
      pending: this.connection?.pending.size ?? 0,
      failedAttempts: this.failedAttempts,
    };
  }

  /** The connection of the current session, once the WebSocket is open. */
  get connection(): Connection | undefined {
    return this.session?.connection;
  }

  /** The connection, while the client is open and it is not closed. */
  liveConnection(): Connection | undefined {
    return this.phase === 'open' && this.connection !== undefined && !this.connection.closed
      ? this.connection
      : undefined;
  }

  /** Dials the current url (after preparing the credentials). */
  private async dial(): Promise<void> {
    this.reconnectTimer = undefined;
    if (this.phase === 'stopped') return;
    const url = this.urls.current;
    if (url === undefined) {
      this.giveUp(new NotConnectedError('No server url left to connect to'));
      return;
    }
    this.phase = 'connecting';
    this.currentUrl = url;
    const prep = await prepareAttempt(this.options);
    if (prep.kind === 'give-up') {
      this.giveUp(prep.error);
      return;
    }
    if (prep.kind === 'auth-failed') {
      this.authRefused = prep.error;
      this.socketClosed(url, false, CloseCode.AUTH_FAILED, 'credentials failed');
      return;
    }
    if (this.phase !== 'connecting') return;
    this.log(`connecting to ${url}`);
    let session: ClientSession;
    try {
      session = new ClientSession(this, url, prep.codec, prep.credentials);
    } catch (error) {
      this.lastError = error instanceof Error ? error : new Error(String(error));
      this.socketClosed(url, false, CloseCode.INTERNAL_ERROR, this.lastError.message);
      return;
    }
    this.adopt(session);
  }

  /** Makes `session` the current one (or none): events of any other session are ignored. */
  private adopt(session: ClientSession | undefined): void {
    if (this.session !== undefined) this.session.current = false;
    this.session = session;
    if (session !== undefined) session.current = true;
  }

  /** SessionHost: WELCOME arrived; the client is open. */
  welcomed(url: string, body: WelcomeBody): void {
    const { serverId, connectionId } = body;
    const session = this.session;
    const connection = session?.connection;
    if (session === undefined || connection === undefined) return;
    session.clearDeadline();
    this.serverId = serverId;
    this.connectionId = connectionId;
    this.failedAttempts = 0;
    this.lastError = undefined;
    if (this.phase === 'stopped') return;
    this.phase = 'open';
    this.openedSinceStart = true;
    this.failures.reset();
    this.heartbeat.add(connection);
    // Subscriptions first, so queued publishes and messages come after them.
    this.host.groups.restore(connection, body.recovery === true);
    this.host.outbox.flush(connection);
    this.log(`open ${url} (server ${serverId})`);
    // `start()` is settled before `open` listeners run: one that calls `stop()` does not
    // turn the connection it just got into a rejected start.
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const waiter of waiters) waiter.resolve();
    this.host.emit('open', { client: this.host.client, url, serverId });
  }

  /** SessionHost: the current socket closed; reconnect, switch url, or give up. */
  socketClosed(url: string, wasOpen: boolean, code: number, reason: string): void {
    const connection = this.connection;
    if (connection !== undefined) this.heartbeat.delete(connection);
    this.session?.clearDeadline();
    this.adopt(undefined);
    this.serverId = undefined;
    this.host.rpcCaller.connectionClosed();
    this.connectionId = undefined;
    const waiters = this.closeWaiters;
    this.closeWaiters = [];
    for (const resolve of waiters) resolve();
    if (wasOpen) {
      this.log(`closed ${url} (${code}${reason === '' ? '' : ` ${reason}`})`);
      this.host.emit('close', { client: this.host.client, url, code, reason });
    }
    if (this.phase === 'stopped') return;
    const switching = this.switching;
    this.switching = false;
    if (switching) {
      void this.dial();
      return;
    }
    const authRefused = this.authRefused;
    this.authRefused = undefined;
    let failure: WsMeshError | undefined;
    if (!wasOpen || authRefused !== undefined) {
      if (!wasOpen) this.failedAttempts++;
      failure = connectFailure(url, authRefused ?? this.lastError, code, reason);
      this.lastError = undefined;
      this.failures.report(url, failure);
      // A listener may have stopped the client (RpcProxy.create does): no redial then.
      if ((this.phase as ClientState) === 'stopped') return;
    }
    const next = afterClose(
      {
        url,
        wasOpen,
        failure,
        failedAttempts: this.failedAttempts,
        openedSinceStart: this.openedSinceStart,
        urlCount: this.urls.size,
      },
      this.options,
    );
    if (next.action === 'give-up') {
      this.giveUp(next.error, next.reported);
      return;
    }
    this.urls.advance();
    this.phase = 'waiting';
    this.reconnectTimer = setTimeout(() => void this.dial(), next.delay);
  }

  /**
   * Stops for good: everything still waiting fails with `error`, reported unless it already
   * was (the failure of the last attempt).
   */
  private giveUp(error: Error, reported = false): void {
    this.phase = 'stopped';
    this.clearTimers();
    const notConnected =
      error instanceof WsMeshError
        ? error
        : new NotConnectedError(error.message, undefined, { cause: error });
    this.host.outbox.rejectAll(notConnected);
    this.settleStart(notConnected);
    this.heartbeat.stop();
    if (!reported) this.host.reportError(error);
    this.log('gave up');
    this.host.emit('stop', { client: this.host.client });
  }

  private settleStart(error: Error): void {
    const waiters = this.startWaiters;
    this.startWaiters = [];
    for (const waiter of waiters) waiter.reject(error);
  }

  private clearTimers(): void {
    if (this.reconnectTimer !== undefined) clearTimeout(this.reconnectTimer);
    this.reconnectTimer = undefined;
    this.session?.clearDeadline();
  }

  /** SessionHost: why the attempt is failing. */
  failed(error: Error): void {
    this.lastError = error;
  }

  /** SessionHost: the server refused authentication. */
  refused(error: AuthError): void {
    this.authRefused = error;
  }

  /** SessionHost: reports through the client's `error` event. */
  reportError(error: unknown): void {
    this.host.reportError(error);
  }

  private log(message: string): void {
    if (!this.options.silent) console.log(`[wsmesh client ${this.id}] ${message}`);
  }
}
