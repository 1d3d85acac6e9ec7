/**
 * Node dialer: a `ws` client socket with per-tick write batching.
 * @module
 */
import type { Duplex } from 'node:stream';
import WebSocket from 'ws';
import type { Dialer } from './dialer.js';
import { NodeWireSocket } from './node-socket.js';
import { decodeUtf8 } from './utf8.js';

/** Dials with `ws`. Compression is off: wsmesh frames are small and often pre-framed. */
export const nodeDialer: Dialer = (url, protocols, options, events) => {
  const ws = new WebSocket(url, protocols, {
    maxPayload: options.maxPayload,
    handshakeTimeout: options.handshakeTimeout,
    perMessageDeflate: false,
    // Text is validated while it is decoded, in one pass (utf8.ts).
    skipUTF8Validation: true,
    // Node's TLS takes any Uint8Array where its types say Buffer.
    ...(options.tls as WebSocket.ClientOptions | undefined),
  });
  let raw: Duplex | undefined;
  const wire = new NodeWireSocket(ws, undefined, false, () => raw);
  // The upgrade response carries the TCP/TLS socket `ws` writes to; keep it to cork writes.
  ws.once('upgrade', (response) => {
    raw = response.socket;
  });
  // A refused upgrade (404 on a wrong path, 503...) is reported with its status and text.
  ws.once('unexpected-response', (request, response) => {
    const { statusCode = 0, statusMessage = '' } = response;
    const error = Object.assign(
      new Error(`Unexpected server response: ${statusCode} ${statusMessage}`.trimEnd()),
      { status: statusCode },
    );
    response.resume();
    request.destroy(error);
  });
  ws.on('open', () => events.open(ws.protocol));
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) {
      events.message(data);
      return;
    }
    const text = decodeUtf8(data);
    if (text === undefined) events.invalidText();
    else events.message(text);
  });
  ws.on('close', (code: number, reason: Buffer) => events.close(code, reason.toString('utf8')));
  ws.on('error', (error: Error) => events.error(error));
  return wire;
};
