/**
 * Raw `ws` helpers shared by the hand-written contenders (`ws`, `ws-batched`): a connection
 * with its TCP socket at hand (for corked and pre-framed writes), and one unmasked frame built
 * once for many subscribers.
 * @module
 */
import type { Duplex } from 'node:stream';
import * as wsModule from 'ws';
import WebSocket from 'ws';

interface FrameOptions {
  fin: boolean;
  opcode: number;
  mask: boolean;
  readOnly: boolean;
  rsv1: boolean;
}
type FrameFunction = (data: Buffer, options: FrameOptions) => Buffer[];

function senderFrame(): FrameFunction {
  // `Sender` is a named export of ws's ESM wrapper (the default export does not carry it).
  const sender = (wsModule as unknown as { Sender?: { frame?: FrameFunction } }).Sender;
  const frame = sender?.frame;
  if (typeof frame !== 'function') throw new Error('ws.Sender.frame is not available');
  return frame.bind(sender);
}

const frame = senderFrame();

/** Builds one unmasked WebSocket frame for `payload`, shared by every subscriber. */
export function frameOnce(payload: Buffer, binary: boolean): Buffer {
  const parts = frame(payload, {
    fin: true,
    opcode: binary ? 2 : 1,
    mask: false,
    readOnly: true,
    rsv1: false,
  });
  return parts.length === 1 && parts[0] !== undefined ? parts[0] : Buffer.concat(parts);
}

/** An open client connection and the TCP socket under it. */
export interface RawConnection {
  ws: WebSocket;
  raw: Duplex;
}

/** Opens `ws://127.0.0.1:<port><path>` (no compression); resolves once open. */
export function openRaw(port: number, path: string): Promise<RawConnection> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}${path}`, { perMessageDeflate: false });
  let raw: Duplex | undefined;
  ws.once('upgrade', (response) => {
    raw = response.socket;
  });
  return new Promise((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => {
      ws.off('error', reject);
      ws.on('error', () => ws.terminate());
      if (raw === undefined) reject(new Error('ws: no socket after upgrade'));
      else resolve({ ws, raw });
    });
  });
}

/** Closes `ws` (terminating it after 1 s without a close handshake). */
export function closeRaw(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
      resolve();
    }, 1000);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    ws.close();
  });
}
