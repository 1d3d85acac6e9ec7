/**
 * The dialing side of the wsmesh handshake, shared by clients, RPC proxies, clone links and
 * server links: builds HELLO, answers CHALLENGE (checking the server's proof and id before
 * anything reusable is sent), and checks WELCOME. No sockets: the caller sends the frames.
 * @module
 */
import { AuthError, ErrorCode, ProtocolError } from '../errors.js';
import {
  PROTOCOL_VERSION,
  type AuthBody,
  type ChallengeBody,
  type HelloBody,
  type PeerKind,
  type WelcomeBody,
  type WireError,
} from '../protocol/frames.js';
import { CIPHER_SCHEME, type CipherFactory, type FrameCipher } from '../transport/frame-cipher.js';
import {
  cipherSalt,
  peerProof,
  randomNonce,
  verifyServerProof,
  type ProofContext,
} from './proof.js';

/** What one dialing handshake announces and checks. */
export interface DialingSetup {
  /** The dialing peer's id (HELLO.id). */
  readonly id: string;
  readonly kind: PeerKind;
  /** Largest frame this side accepts. */
  readonly maxPayload: number;
  /** The server secret: HELLO asks the server to prove it, and AUTH proves it back. */
  readonly secret?: string | undefined;
  /** Ask for payload encryption (needs `secret` and `cipherFactory`). */
  readonly encryption?: boolean | undefined;
  readonly cipherFactory?: CipherFactory | undefined;
  /** The id the server must answer with (clones dial a known id). */
  readonly expectServerId?: string | undefined;
  /** The error for a server that answers with another id (default: an `AuthError`). */
  readonly mismatch?: ((serverId: string) => Error) | undefined;
  /** Clients: credentials for the server's `authenticate` hook (sent in HELLO). */
  readonly credentials?: unknown;
  /** Clones: random id of this process. */
  readonly instance?: string | undefined;
  /** Server links: the namespace of the link. */
  readonly namespace?: string | undefined;
  /** This side reads batches (ignored with encryption). */
  readonly batch?: boolean | undefined;
  /** Clients: this side also reads GROUP_MESSAGES packs (only with `batch`). */
  readonly pack?: boolean | undefined;
  /**
   * Clones: the authValue for the server's `authFnIn`, asked for only once the server has
   * answered with the expected id (and proved the secret, when there is one).
   */
  readonly authValue?: (() => Promise<unknown>) | undefined;
}

/** What an accepted WELCOME gives the connection. */
export interface WelcomeOutcome {
  /** The cipher to switch to, when encryption was agreed. */
  readonly cipher: FrameCipher | undefined;
}

/** One dialing handshake: HELLO, [CHALLENGE, AUTH], WELCOME. */
export class DialingHandshake {
  /** The HELLO body to send first. */
  readonly hello: HelloBody;
  private context: ProofContext | undefined;
  private answered = false;

  constructor(private readonly setup: DialingSetup) {
    const hello: HelloBody = {
      v: PROTOCOL_VERSION,
      id: setup.id,
      kind: setup.kind,
      maxPayload: setup.maxPayload,
    };
    if (setup.secret !== undefined) hello.challenge = randomNonce();
    if (setup.encryption === true) hello.enc = CIPHER_SCHEME;
    else if (setup.batch === true) {
      hello.batch = true;
      if (setup.pack === true) hello.pack = true;
    }
    // With a secret, credentials wait for AUTH: nothing reusable before the server proved it.
    if (setup.credentials !== undefined && setup.secret === undefined)
      hello.credentials = setup.credentials;
    if (setup.instance !== undefined) hello.instance = setup.instance;
    if (setup.namespace !== undefined) hello.namespace = setup.namespace;
    this.hello = hello;
  }

  /** True when this side reads batches from the server. */
  get readsBatches(): boolean {
    return this.hello.batch === true;
  }

  /**
   * CHALLENGE arrived: checks the server's id and proof, then builds AUTH. Throws
   * `AuthError` when the server is not who it must be; nothing has been sent then.
   */
  async answer(challenge: ChallengeBody): Promise<AuthBody> {
    if (this.answered) throw new ProtocolError(ErrorCode.PROTOCOL, 'A second CHALLENGE');
    this.answered = true;
    const { setup } = this;
    this.checkIdentity(challenge.serverId);
    const body: AuthBody = {};
    if (setup.secret !== undefined) {
      const context: ProofContext = {
        kind: setup.kind,
        peerId: setup.id,
        serverId: challenge.serverId,
        peerNonce: this.hello.challenge ?? '',
        serverNonce: challenge.nonce,
      };
      if (!(await verifyServerProof(setup.secret, context, challenge.proof))) {
        throw new AuthError(`Server "${challenge.serverId}" did not prove the server secret`);
      }
      this.context = context;
      body.proof = await peerProof(setup.secret, context);
      if (setup.credentials !== undefined) body.credentials = setup.credentials;
    }
    if (setup.authValue !== undefined) {
      const value = await setup.authValue();
      if (value !== undefined) body.authValue = value;
    }
    return body;
  }

  private checkIdentity(serverId: string): void {
    const { expectServerId, mismatch } = this.setup;
    if (expectServerId === undefined || serverId === expectServerId) return;
    throw (
      mismatch?.(serverId) ??
      new AuthError(`The server answered as "${serverId}", not "${expectServerId}"`)
    );
  }

  /** WELCOME arrived: with a secret, the server must have proved it in CHALLENGE first. */
  welcome(welcome: WelcomeBody): WelcomeOutcome {
    const { setup } = this;
    if (setup.secret !== undefined && this.context === undefined) {
      throw new AuthError(`Server "${welcome.serverId}" did not prove the server secret`);
    }
    this.checkIdentity(welcome.serverId);
    if (setup.encryption !== true) return { cipher: undefined };
    const { context } = this;
    if (welcome.enc !== CIPHER_SCHEME || context === undefined || setup.cipherFactory === undefined)
      throw new AuthError('The server did not agree to encrypt');
    return {
      cipher: setup.cipherFactory(
        setup.secret ?? '',
        cipherSalt(context),
        welcome.serverId,
        setup.id,
        'dialing',
      ),
    };
  }
}

/** The error an ERROR frame before WELCOME stands for. */
export function handshakeError(error: WireError): Error {
  return error.code === ErrorCode.AUTH
    ? new AuthError(error.message)
    : new ProtocolError(ErrorCode.PROTOCOL, error.message);
}
