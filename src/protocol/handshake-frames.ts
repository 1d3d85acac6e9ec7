/**
 * The handshake frames (PROTOCOL.md 2.1): HELLO, CHALLENGE, AUTH and WELCOME, and their bodies.
 * @module
 */
import type { FrameType } from './wire-codes.js';

/** Kinds of peer announced in HELLO. */
export type PeerKind = 'client' | 'clone' | 'link' | 'rpc';

/** Body of a HELLO frame (first frame a dialing peer sends). */
export interface HelloBody {
  /** Protocol version the dialing peer speaks. */
  v: number;
  /** The dialing peer's own id (client id, clone id...). */
  id: string;
  /** What kind of peer dials. Default `client`. */
  kind?: PeerKind;
  /** Largest frame the dialing peer accepts, in bytes. */
  maxPayload?: number;
  /**
   * The dialing peer holds the server secret and will prove it: a fresh random nonce (16-128
   * base64url characters) the server's proof in CHALLENGE must cover.
   */
  challenge?: string;
  /** Clones only: random id of the dialing process, to tell duplicate ids apart. */
  instance?: string;
  /** Server links only: the namespace (or namespace group) the link is for. */
  namespace?: string;
  /**
   * Clients: credentials for the server's `authenticate` hook (a token, for example). A peer
   * that sends `challenge` puts them in AUTH instead, once the server proved the secret.
   */
  credentials?: unknown;
  /** Asks for payload encryption after the handshake (`aes-256-gcm`); needs `challenge`. */
  enc?: string;
  /**
   * The dialing peer reads batches: several frames in one WebSocket message (see
   * PROTOCOL.md, "Batches"). Ignored when `enc` is set.
   */
  batch?: boolean;
  /**
   * Clients that read batches: they also read packs, GROUP_MESSAGES frames (see PROTOCOL.md,
   * "Batches"). Ignored without `batch`.
   */
  pack?: boolean;
}

/** Body of a WELCOME frame (the accepting side's answer to HELLO). */
export interface WelcomeBody {
  /** Protocol version the accepting side speaks. */
  v: number;
  /** Id of the accepting server. */
  serverId: string;
  /** Id the server gave this connection (key of `server.clients`). */
  connectionId: string;
  /** Largest frame the server accepts, in bytes. */
  maxPayload: number;
  /** Set to `aes-256-gcm` when every frame after WELCOME is encrypted. */
  enc?: string;
  /** The server reads batches from this connection (never set together with `enc`). */
  batch?: boolean;
  /** The server may send this client GROUP_MESSAGES frames (only set with `batch`). */
  pack?: boolean;
  /** The server takes SUBSCRIBE_SINCE and numbers group messages (PROTOCOL.md 2.10). */
  recovery?: boolean;
}

/** Body of a CHALLENGE frame: the accepting side's answer to a HELLO that needs proof. */
export interface ChallengeBody {
  /** Id of the accepting server. */
  serverId: string;
  /** Fresh random nonce of this connection (base64url, 24 characters). */
  nonce: string;
  /** When HELLO carried `challenge`: the server's proof of the secret (PROTOCOL.md 2.1). */
  proof?: string;
}

/** Body of an AUTH frame: the dialing side's answer to CHALLENGE. */
export interface AuthBody {
  /** Proof of the server secret over both nonces and both ids (PROTOCOL.md 2.1). */
  proof?: string;
  /** Clones: the value of their `authFnOut`, checked by the accepting side's `authFnIn`. */
  authValue?: unknown;
  /** Clients and proxies that prove the secret: `credentials` go here, not in HELLO. */
  credentials?: unknown;
}

export type HelloFrame = [typeof FrameType.HELLO, HelloBody];
export type WelcomeFrame = [typeof FrameType.WELCOME, WelcomeBody];
export type ChallengeFrame = [typeof FrameType.CHALLENGE, ChallengeBody];
export type AuthFrame = [typeof FrameType.AUTH, AuthBody];
