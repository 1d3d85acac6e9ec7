/**
 * The server-side view of one peer connection: the `ws` object handed to events, middlewares
 * and handlers.
 * @module
 */
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { InvalidArgumentError } from '../errors.js';
import type { FanoutMessage } from '../groups/fanout-message.js';
import { NO_GRANTS, type PeerGrants } from '../handshake/admission.js';
import { heldBack, type ResumeMember, type ResumeState } from '../groups/resume.js';
import type { PresenceMember } from '../groups/presence-table.js';
import type { Codec, WirePayload } from '../protocol/codec.js';
import { CloseCode, FrameType, type Frame, type PeerKind } from '../protocol/frames.js';
import {
  checkSendOptions,
  sendOnConnection,
  type AwaitedSendMessageOptions,
  type SendMessageOptions,
} from '../routing/send-message.js';
import type { RouteCounters } from '../routing/route-counters.js';
import { Connection, type ConnectionOptions } from '../transport/connection.js';
import type { NodeWireSocket } from '../transport/node-socket.js';
import type { TickFanout, TickRegistration } from '../transport/tick-fanout.js';
import { peerAddress } from './peer-address.js';

/** What a connection keeps of its HTTP upgrade request. */
export interface UpgradeRequestInfo {
  /** Path and query string, e.g. `/?token=abc`. */
  url: string;
  /**
   * Request headers, without those of the WebSocket handshake itself (`upgrade`,
   * `connection`, `sec-websocket-key`, `sec-websocket-version`, `sec-websocket-extensions`,
   * `sec-websocket-protocol`), which mean nothing once the connection is open (the codec
   * chosen is `ws.codec`).
   */
  headers: IncomingHttpHeaders;
}

/** Handshake headers a connection does not keep (see {@link UpgradeRequestInfo}). */
const HANDSHAKE_HEADERS = new Set([
  'upgrade',
  'connection',
  'sec-websocket-key',
  'sec-websocket-version',
  'sec-websocket-extensions',
  'sec-websocket-protocol',
]);

/**
 * Headers whose values repeat from one connection to the next (one site, one client app, one
 * proxy): a connection with the same value as the last one shares its string.
 */
const REPEATED_HEADERS = new Set([
  'host',
  'origin',
  'user-agent',
  'accept-encoding',
  'accept-language',
  'cache-control',
  'pragma',
]);
const lastValues = new Map<string, string>();

function keptHeaders(headers: IncomingHttpHeaders): IncomingHttpHeaders {
  const kept: IncomingHttpHeaders = {};
  for (const name of Object.keys(headers)) {
    if (HANDSHAKE_HEADERS.has(name)) continue;
    const value = headers[name];
    if (typeof value !== 'string' || !REPEATED_HEADERS.has(name)) {
      kept[name] = value;
      continue;
    }
    const last = lastValues.get(name);
    if (last === value) kept[name] = last;
    else {
      lastValues.set(name, value);
      kept[name] = value;
    }
  }
  return kept;
}

/** Tokens left and when they were counted (ms). */
interface TokenBucket {
  tokens: number;
  at: number;
}

/** Connection states on the server. */
export type ServerConnectionState =
  'handshaking' | 'challenged' | 'authenticating' | 'open' | 'closed';

/** Callbacks from a connection to the server that owns it. */
export interface ServerConnectionOwner {
  readonly id: string;
  handleFrame(ws: ServerConnection, frame: Frame, raw: WirePayload): void;
  readonly awaitResTimeout: number;
  connectionClosed(ws: ServerConnection, code: number, reason: string): void;
  connectionError(ws: ServerConnection, error: Error): void;
  /** Per-route message counters (`stats().routes`). */
  readonly routeCounters: RouteCounters;
}

// Also the ConnectionHandler of its connection, through members left out of the published
// declarations (so the interface is not declared here).
/** A peer connected to the server. */
export class ServerConnection implements ResumeMember {
  /** Key of this connection in `server.clients`. */
  readonly id: string;
  /** Per-connection user data; put anything here (user id, roles...). */
  get data(): Record<string, unknown> {
    // Made on first use: idle connections that never need it cost nothing.
    this.userData ??= {};
    return this.userData;
  }
  set data(value: Record<string, unknown>) {
    this.userData = value;
  }
  private userData: Record<string, unknown> | undefined;
  /** The id the peer announced in HELLO (its `Client` id). */
  clientId: string | undefined;
  /** What kind of peer this is, from HELLO. */
  kind: PeerKind = 'client';
  /** Group ids this connection is subscribed to. */
  get groups(): Set<string> {
    // Made on first use: idle connections that never subscribe cost nothing.
    this.groupSet ??= new Set();
    return this.groupSet;
  }
  private groupSet: Set<string> | undefined;
  /** Remote IP address, when known. */
  readonly remoteAddress: string | undefined;
  /**
   * The HTTP upgrade request's url (with query string) and headers. Only these are kept, so
   * an idle connection does not hold the whole request object.
   */
  readonly request: UpgradeRequestInfo;
  /** Handshake progress. */
  state: ServerConnectionState = 'handshaking';
  /** What the server's `authenticate` hook returned for this connection. */
  auth: unknown;
  /** @internal Requests whose handlers are still running. */
  inFlight = 0;
  /** @internal Rate-limit token bucket, made by the first frame counted (only with `rateLimit`). */
  private bucket: TokenBucket | undefined;
  /**
   * @internal What this peer may do, decided once when its handshake ends
   * (src/handshake/admission.ts); nothing before that.
   */
  grants: PeerGrants = NO_GRANTS;
  /** @internal Groups being resumed: their live messages wait (src/groups/resume.ts). */
  resuming: ResumeState | undefined;
  /** @internal transport connection */
  readonly connection: Connection;

  /** @internal */
  constructor(
    private readonly owner: ServerConnectionOwner,
    socket: NodeWireSocket,
    request: IncomingMessage,
    id: string,
    /** Shared by the server's connections of one codec (the connection keeps it). */
    options: ConnectionOptions,
  ) {
    this.id = id;
    this.request = { url: request.url ?? '/', headers: keptHeaders(request.headers) };
    // Read now: once the socket is closed Node no longer knows it (disconnect logs need it).
    this.remoteAddress = peerAddress(request.socket);
    this.connection = new Connection(socket, this, options);
  }

  /** @internal The socket (kept by the connection only: one field less per connection). */
  get socket(): NodeWireSocket {
    return this.connection.socket as NodeWireSocket;
  }

  /** @internal ConnectionHandler: this object is its own handler (no closures per connection). */
  onFrame(frame: Frame, raw: WirePayload): void {
    this.owner.handleFrame(this, frame, raw);
  }

  /** @internal */
  onClose(code: number, reason: string): void {
    this.owner.connectionClosed(this, code, reason);
  }

  /** @internal */
  onError(error: Error): void {
    this.owner.connectionError(this, error);
  }

  /** Codec negotiated for this connection (`json` or `msgpack`). */
  get codec(): Codec['name'] {
    return this.connection.codec.name;
  }

  /** Bytes queued for this peer and not yet written to the network. */
  get bufferedAmount(): number {
    return this.connection.bufferedAmount;
  }

  /** True until the connection closes. */
  get open(): boolean {
    return !this.connection.closed;
  }

  /**
   * Sends a message to this peer: fire-and-forget, with `cbAfterRes`, or with `awaitRes`
   * (resolves with the peer's reply, so a server can ask a client and await the answer).
   */
  sendMes<T = unknown>(options: AwaitedSendMessageOptions): Promise<T>;
  sendMes(options: SendMessageOptions): Promise<unknown>;
  sendMes(options: SendMessageOptions): Promise<unknown> {
    try {
      checkSendOptions(options);
    } catch (error) {
      return Promise.reject(error);
    }
    this.owner.routeCounters.countOut(options.route ?? null);
    return sendOnConnection(this.connection, options, this.owner.awaitResTimeout);
  }

  /** @internal Fan-out delivery (see `Subscriber`). Throws `SerializationError`. */
  deliver(message: FanoutMessage): boolean {
    // Kept in history and delivered by the resume once it reaches this point.
    if (this.resuming !== undefined && heldBack(this.resuming, message)) return true;
    return this.deliverNow(message);
  }

  /** @internal Delivery that skips the resume hold (recovered messages). */
  deliverNow(message: FanoutMessage): boolean {
    if (this.state !== 'open') return false;
    const { connection } = this;
    // Never a frame the peer said it cannot take (PROTOCOL.md 2.3); a sealed frame carries
    // a 12-byte IV and a 16-byte tag more.
    if (!message.fits(connection.codec, connection.peerMaxPayload, connection.encrypted ? 28 : 0)) {
      message.tooLarge++;
      return false;
    }
    return connection.writeShared(message.frameFor(connection.codec));
  }

  /** @internal Takes a group's messages of this tick through the socket (see `Subscriber`). */
  joinTick(fanout: TickFanout): TickRegistration | undefined {
    // A resuming connection checks each live message against what it resumes.
    if (this.state !== 'open' || this.resuming !== undefined) return undefined;
    // The socket knows whether its frames go unsealed in batches that its peer takes whole.
    return this.socket.joinTick(fanout);
  }

  /** @internal Its place in a group's fan-out of this tick (see `Subscriber`). */
  tickIn(fanout: TickFanout): TickRegistration | undefined {
    return this.socket.registrationIn(fanout);
  }

  /** @internal Takes one rate-limit token; false when the bucket is empty. */
  takeToken(limit: { messages: number; interval: number }, now: number): boolean {
    const bucket = (this.bucket ??= { tokens: limit.messages, at: now });
    if (now > bucket.at) {
      bucket.tokens = Math.min(
        limit.messages,
        bucket.tokens + ((now - bucket.at) * limit.messages) / limit.interval,
      );
      bucket.at = now;
    }
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  /** @internal Tells the client its memberships changed, so `getMyGroups()` stays right. */
  membershipChanged(groupId: string, joined: boolean): void {
    // A closing connection leaves its groups one by one: sending would build an error each.
    if (this.state !== 'open' || this.grants.role !== 'client' || this.connection.closed) return;
    try {
      this.connection.send([FrameType.MEMBERSHIP, groupId, joined]);
    } catch {
      // Closed or slow consumer: the close handler cleans up.
    }
  }

  /** @internal A member joined or left the presence of a group this connection listens to. */
  presenceEvent(groupId: string, joined: boolean, who: PresenceMember): void {
    if (this.state !== 'open') return;
    try {
      this.connection.send([
        FrameType.PRESENCE_EVENT,
        groupId,
        joined,
        who.clientId,
        who.data,
        who.node,
      ]);
    } catch {
      // Closed or slow consumer: the close handler cleans up.
    }
  }

  /** Closes the connection (default code 1000). */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (!(code === 1000 || (code >= 3000 && code <= 4999))) {
      throw new InvalidArgumentError('close code must be 1000 or 3000-4999');
    }
    this.connection.close(code, reason);
  }
}
