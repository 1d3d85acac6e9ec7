/**
 * The one deadline of a connection's handshake: a connection that is neither open nor
 * closed when `handshakeTimeout` passes is closed with 4001.
 * @module
 */
import { CloseCode } from '../protocol/frames.js';
import { DeadlineEntry } from '../transport/deadline-queue.js';
import type { ServerConnection } from './server-connection.js';

/** True while a connection is between its upgrade and WELCOME (or its refusal). */
export function isHandshaking(ws: ServerConnection): boolean {
  return ws.state !== 'open' && ws.state !== 'closed';
}

/** Closes a connection whose handshake did not end within `handshakeTimeout`. */
export class HandshakeDeadline extends DeadlineEntry {
  constructor(private readonly ws: ServerConnection) {
    super();
  }
  override expire(): void {
    if (isHandshaking(this.ws)) {
      this.ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'handshake timed out');
    }
  }
}
