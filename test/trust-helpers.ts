/**
 * A raw peer's side of the wsmesh handshake, written from PROTOCOL.md 2.1 (not from the
 * library's dialing code): HELLO, CHALLENGE and AUTH with the secret proof, WELCOME.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { connectRaw, isFrame, type RawCodec, type RawPeer } from './helpers.js';

/** What a raw peer announces and proves. */
export interface RawHandshake {
  id: string;
  kind?: 'client' | 'clone' | 'link' | 'rpc';
  /** Prove this secret (HELLO.challenge, then AUTH.proof). */
  secret?: string;
  /** Put in AUTH (clones). */
  authValue?: unknown;
  /** Send this AUTH proof instead of computing one (replays). */
  proof?: string;
  /** Send this HELLO.challenge instead of a fresh one. */
  challenge?: string;
  instance?: string;
  namespace?: string;
  credentials?: unknown;
  enc?: boolean;
  batch?: boolean;
  pack?: boolean;
  codec?: RawCodec;
}

/** How a raw handshake ended. */
export interface RawOutcome {
  peer: RawPeer;
  /** True when WELCOME arrived. */
  welcomed: boolean;
  /** CHALLENGE body, when the server sent one. */
  challenge?: { serverId: string; nonce: string; proof?: string };
  /** AUTH body sent. */
  auth?: { proof?: string; authValue?: unknown };
  /** ERROR code the server sent before closing, if any. */
  errorCode?: string;
  /** Close code, when the server closed. */
  closeCode?: number;
  /** HELLO.challenge sent. */
  peerNonce?: string;
}

/** base64url HMAC-SHA256, as PROTOCOL.md 2.1 defines proofs. */
export function hmac(secret: string, message: string): string {
  return createHmac('sha256', secret).update(message).digest('base64url');
}

/** Runs the handshake from a raw socket and reports how it ended (never throws on refusal). */
export async function rawHandshake(url: string, options: RawHandshake): Promise<RawOutcome> {
  const peer = await connectRaw(url, { hello: false, codec: options.codec ?? 'json' });
  const kind = options.kind ?? 'client';
  const hello: Record<string, unknown> = { v: PROTOCOL_VERSION, id: options.id, kind };
  const peerNonce =
    options.challenge ??
    (options.secret !== undefined ? randomBytes(18).toString('base64url') : undefined);
  if (peerNonce !== undefined) hello.challenge = peerNonce;
  if (options.instance !== undefined) hello.instance = options.instance;
  if (options.namespace !== undefined) hello.namespace = options.namespace;
  if (options.credentials !== undefined) hello.credentials = options.credentials;
  if (options.enc === true) hello.enc = 'aes-256-gcm';
  if (options.batch === true) hello.batch = true;
  if (options.pack === true) hello.pack = true;
  peer.send([FrameType.HELLO, hello]);
  const outcome: RawOutcome = { peer, welcomed: false };
  if (peerNonce !== undefined) outcome.peerNonce = peerNonce;
  const first = await next(peer, 0);
  if (first !== undefined && isFrame(first, FrameType.CHALLENGE)) {
    const challenge = (first as [number, RawOutcome['challenge']])[1];
    if (challenge !== undefined) outcome.challenge = challenge;
    const auth: { proof?: string; authValue?: unknown } = {};
    if (options.proof !== undefined) auth.proof = options.proof;
    else if (options.secret !== undefined && challenge !== undefined) {
      auth.proof = hmac(
        options.secret,
        `wsmesh-v2|${kind}|${options.id}|${challenge.serverId}|${challenge.nonce}|${peerNonce ?? ''}`,
      );
    }
    if (options.authValue !== undefined) auth.authValue = options.authValue;
    outcome.auth = auth;
    peer.send([FrameType.AUTH, auth]);
    await next(peer, peer.frames.indexOf(first) + 1);
  }
  outcome.welcomed = peer.welcome !== undefined;
  if (!outcome.welcomed) {
    const error = peer.frames.find((frame) => isFrame(frame, FrameType.ERROR)) as
      [number, number, { code: string }] | undefined;
    if (error !== undefined) outcome.errorCode = error[2].code;
    const info = await peer.waitClose(5000).catch(() => undefined);
    if (info !== undefined) outcome.closeCode = info.code;
  }
  return outcome;
}

/** The next CHALLENGE or WELCOME at index `after` or later; undefined when the socket closed. */
async function next(peer: RawPeer, after: number): Promise<unknown> {
  try {
    return await peer.waitForFrame(
      (frame) => isFrame(frame, FrameType.CHALLENGE) || isFrame(frame, FrameType.WELCOME),
      { after, timeoutMs: 5000 },
    );
  } catch {
    return undefined;
  }
}
