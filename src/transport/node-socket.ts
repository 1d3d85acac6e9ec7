/**
 * Node adapter from a `ws` WebSocket to {@link WireSocket}, with one write per socket per
 * tick: the first send of a tick corks the underlying TCP socket and a single `nextTick`
 * uncorks every socket written during that tick, so many small frames leave in one syscall.
 * @module
 */
import type { Duplex } from 'node:stream';
import * as wsModule from 'ws';
import WebSocket from 'ws';
import type { WirePayload } from '../protocol/codec.js';
import type { Connection } from './connection.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

const corkedSockets: NodeWireSocket[] = [];
let flushScheduled = false;

function flushCorked(): void {
  flushScheduled = false;
  // Sockets corked while flushing (by a write in an 'drain' callback) wait for the next tick.
  const batch = corkedSockets.splice(0, corkedSockets.length);
  for (const socket of batch) socket.uncork();
}

/** `ws` frames a payload for a server-to-client message (unmasked). */
interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
type FrameFunction = (data: Buffer, options: FrameOptions) => Buffer[];
// Under ESM, `Sender` is a named export of 'ws' (not a property of its default export).
type SenderModule = { Sender?: { frame?: FrameFunction } };
const wsSender =
  (wsModule as unknown as SenderModule).Sender ?? (WebSocket as unknown as SenderModule).Sender;
const senderFrame: FrameFunction | undefined =
  typeof wsSender?.frame === 'function' ? wsSender.frame.bind(wsSender) : undefined;

/**
 * A payload framed once for many receivers. Server-side frames are not masked, so the same
 * bytes can be written to every subscriber's socket.
 */
export class PreparedFrame implements SharedFrame {
  /** Header and payload buffers, as `ws` lays them out; undefined if `ws` cannot frame. */
  readonly framed: Buffer[] | undefined;
  constructor(readonly payload: WirePayload) {
    if (senderFrame === undefined) {
      this.framed = undefined;
      return;
    }
    const binary = typeof payload !== 'string';
    const data = binary
      ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
      : Buffer.from(payload);
    const parts = senderFrame(data, {
      fin: true,
      opcode: binary ? 2 : 1,
      mask: false,
      readOnly: true,
      rsv1: false,
    });
    // Header and payload in one buffer: one write per subscriber instead of two. Large
    // payloads stay apart to avoid copying them.
    this.framed = parts.length > 1 && data.length <= 64 * 1024 ? [Buffer.concat(parts)] : parts;
  }
}

/** A server- or client-side `ws` socket seen as a {@link WireSocket}. */
export class NodeWireSocket implements WireSocket {
  private corked = false;

  /**
   * @param ws the `ws` WebSocket
   * @param raw the TCP/TLS socket `ws` writes to (needed for corking and pre-framed writes)
   * @param isServer server-side sockets may take pre-framed (unmasked) frames
   */
  constructor(
    readonly ws: WebSocket,
    private rawSocket: Duplex | undefined,
    private readonly isServer: boolean,
    private readonly getRaw?: () => Duplex | undefined,
  ) {}

  private get raw(): Duplex | undefined {
    if (this.rawSocket === undefined && this.getRaw !== undefined) this.rawSocket = this.getRaw();
    return this.rawSocket;
  }

  /** Routes the socket's events to `connection`. */
  attach(connection: Connection, onError: (error: Error) => void): void {
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      connection.receive(isBinary ? data : data.toString('utf8'));
    });
    this.ws.on('close', (code: number, reason: Buffer) => {
      connection.handleClosed(code, reason.toString('utf8'));
    });
    this.ws.on('error', onError);
  }

  get bufferedAmount(): number {
    return this.raw !== undefined ? this.raw.writableLength : this.ws.bufferedAmount;
  }

  send(payload: WirePayload): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    this.cork();
    this.ws.send(payload);
  }

  /** Writes a frame prepared once for many sockets (pre-framed bytes on the server side). */
  sendShared(frame: SharedFrame): void {
    if (this.ws.readyState !== WebSocket.OPEN) return;
    const { framed } = frame;
    const raw = this.raw;
    if (framed === undefined || !this.isServer || raw === undefined) {
      this.send(frame.payload);
      return;
    }
    this.cork();
    for (const buffer of framed) raw.write(buffer);
  }

  close(code: number, reason: string): void {
    this.ws.close(code, reason);
  }

  terminate(): void {
    this.ws.terminate();
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    this.rawSocket?.uncork();
  }

  private cork(): void {
    if (this.corked) return;
    const raw = this.raw;
    if (raw === undefined) return;
    this.corked = true;
    raw.cork();
    corkedSockets.push(this);
    if (!flushScheduled) {
      flushScheduled = true;
      process.nextTick(flushCorked);
    }
  }
}
