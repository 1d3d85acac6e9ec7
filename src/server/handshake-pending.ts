/**
 * What the server keeps of a connection only while its handshake runs: the one deadline of
 * the handshake (a connection neither open nor closed when `handshakeTimeout` passes is
 * closed with 4001), the endpoint it came in on, its HELLO and admission plan, and the
 * frames held while authentication runs (handshake-hold.ts). Dropped when the connection opens or closes, so an open
 * connection carries none of it.
 * @module
 */
import type { AdmissionPlan, SecuritySetup } from '../handshake/admission.js';
import type { WirePayload } from '../protocol/codec.js';
import { CloseCode, type Frame, type HelloBody } from '../protocol/frames.js';
import { DeadlineEntry } from '../transport/deadline-queue.js';
import type { ServerConnection } from './server-connection.js';

/** True while a connection is between its upgrade and WELCOME (or its refusal). */
export function isHandshaking(ws: ServerConnection): boolean {
  return ws.state !== 'open' && ws.state !== 'closed';
}

/** A connection between HELLO and WELCOME. */
export interface PendingAdmission {
  readonly hello: HelloBody;
  readonly plan: AdmissionPlan;
  /** This connection's CHALLENGE nonce, when one was sent. */
  serverNonce?: string;
}

/** A connection's handshake in progress. */
export class PendingHandshake extends DeadlineEntry {
  /** Its HELLO and what the admission plan asks of it, once HELLO came. */
  admission: PendingAdmission | undefined;
  /** Frames received while authentication runs. */
  held: [Frame, WirePayload][] | undefined;
  /** Bytes of `held`. */
  heldBytes = 0;

  constructor(
    readonly ws: ServerConnection,
    /** The endpoint it came in on (`any` unless the server has a `meshEndpoint`). */
    readonly entry: SecuritySetup['entry'],
  ) {
    super();
  }

  override expire(): void {
    if (isHandshaking(this.ws)) {
      this.ws.connection.close(CloseCode.HANDSHAKE_FAILED, 'handshake timed out');
    }
  }
}
