/**
 * A fake wsmesh server for client tests: a plain `ws` server on 127.0.0.1 that takes the JSON
 * subprotocol, answers the first message (HELLO) with WELCOME, batches and packs on, and then
 * sends one message of its own: what a server written from PROTOCOL.md could send a client.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { FrameType } from '../src/protocol/frames.js';

/** A started fake server. */
export interface FakeServer {
  /** `ws://127.0.0.1:<port>/` */
  url: string;
  /** The HELLO frames received, decoded. */
  hellos: unknown[];
  close(): Promise<void>;
}

/** Starts a fake server that sends `message` (one WebSocket text message) after WELCOME. */
export async function fakeServer(message: string): Promise<FakeServer> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('wsmesh.v1.json') ? 'wsmesh.v1.json' : false),
  });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const hellos: unknown[] = [];
  wss.on('connection', (ws: WebSocket) => {
    ws.once('message', (data: Buffer) => {
      hellos.push(JSON.parse(data.toString('utf8')));
      const welcome = { v: 2, serverId: 'x', connectionId: 'c', maxPayload: 1 << 20 };
      ws.send(JSON.stringify([FrameType.WELCOME, { ...welcome, batch: true, pack: true }]));
      ws.send(message);
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    hellos,
    close: () => new Promise<void>((resolve) => wss.close(() => resolve())),
  };
}
