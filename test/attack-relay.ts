/**
 * An active attacker in the middle of one wsmesh connection: a WebSocket relay that forwards
 * every message both ways and lets a test see, add or repeat messages. It models someone on
 * the path, or a listener a peer dialed by mistake (a stale url) that relays to the real
 * server. It knows no secret.
 */
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer, type RawData } from 'ws';

/** One message seen by the relay, and which way it went. */
export interface RelayedMessage {
  /** `up`: dialer to server; `down`: server to dialer. */
  direction: 'up' | 'down';
  data: Buffer;
  binary: boolean;
}

/** What a test can do with a message on its way. */
export interface RelayHooks {
  /**
   * Called for each message before it is forwarded; `send` writes to the side the message
   * was going to (to add or repeat messages).
   */
  onMessage?(message: RelayedMessage, send: (data: Buffer | string) => void): void;
}

/** A running relay. */
export interface Relay {
  /** Where to dial to go through the relay. */
  url: string;
  /** Every message relayed, in order. */
  readonly log: RelayedMessage[];
  /** Sockets of the relay that closed (either side). */
  readonly closed: () => number;
  close(): Promise<void>;
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Starts a relay on 127.0.0.1 that forwards every connection to `target`. */
export async function startRelay(target: string, hooks: RelayHooks = {}): Promise<Relay> {
  const log: RelayedMessage[] = [];
  const sockets = new Set<WebSocket>();
  let closed = 0;
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    handleProtocols: (protocols) => [...protocols][0] ?? false,
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  wss.on('connection', (down: WebSocket) => {
    const up = new WebSocket(target, down.protocol === '' ? [] : [down.protocol]);
    sockets.add(up);
    sockets.add(down);
    const waiting: [Buffer, boolean][] = [];
    const relay = (from: WebSocket, to: WebSocket, direction: 'up' | 'down'): void => {
      from.on('message', (data: RawData, binary: boolean) => {
        const message: RelayedMessage = { direction, data: toBuffer(data), binary };
        log.push(message);
        const send = (extra: Buffer | string): void => {
          if (direction === 'up' && up.readyState !== WebSocket.OPEN) {
            waiting.push([Buffer.from(extra), typeof extra !== 'string']);
            return;
          }
          to.send(extra, { binary: typeof extra !== 'string' });
        };
        send(binary ? message.data : message.data.toString('utf8'));
        hooks.onMessage?.(message, send);
      });
      from.on('close', () => {
        closed++;
        to.close();
      });
      from.on('error', () => to.terminate());
    };
    relay(down, up, 'up');
    relay(up, down, 'down');
    up.on('open', () => {
      for (const [data, binary] of waiting.splice(0)) up.send(data, { binary });
    });
  });
  const { port } = wss.address() as AddressInfo;
  return {
    url: `ws://127.0.0.1:${port}/`,
    log,
    closed: () => closed,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.terminate();
        wss.close(() => resolve());
      }),
  };
}
