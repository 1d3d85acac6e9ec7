/**
 * Challenge-response proofs of a shared secret. Each side contributes a fresh nonce, and
 * each proof is an HMAC-SHA256 over both nonces and both ids, so a proof is good for one
 * connection to one server only: it cannot be replayed to another server with the same
 * secret, to the same server later, or reflected back. The secret itself never crosses the
 * wire. WebCrypto, so the same code runs in browsers.
 * @module
 */
import type { PeerKind } from '../protocol/frames.js';

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

/** Characters of a nonce: base64url of 18 random bytes. */
export const NONCE_LENGTH = 24;

function hmacKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (key === undefined) {
    key = globalThis.crypto.subtle.importKey(
      'raw',
      encoder.encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}

function toBase64Url(bytes: ArrayBuffer): string {
  let binary = '';
  for (const byte of new Uint8Array(bytes)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (!/^[A-Za-z0-9_-]{1,128}$/.test(text)) return undefined;
  const padded =
    text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    return Uint8Array.from(atob(padded), (char) => char.charCodeAt(0));
  } catch {
    return undefined;
  }
}

/** A fresh random nonce (18 random bytes, base64url). */
export function randomNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return toBase64Url(bytes.buffer);
}

/** True for a nonce a peer may send: 16 to 128 base64url characters. */
export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(value);
}

async function sign(secret: string, message: string): Promise<string> {
  return toBase64Url(
    await globalThis.crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message)),
  );
}

async function verify(secret: string, message: string, proof: unknown): Promise<boolean> {
  if (typeof proof !== 'string') return false;
  const bytes = fromBase64Url(proof);
  if (bytes === undefined) return false;
  // subtle.verify compares in constant time.
  return globalThis.crypto.subtle.verify(
    'HMAC',
    await hmacKey(secret),
    bytes,
    encoder.encode(message),
  );
}

/** Everything both proofs of one handshake are bound to. */
export interface ProofContext {
  /** The dialing peer's kind as it entered HELLO (`client` when HELLO omitted it). */
  kind: PeerKind;
  /** `hello.id`. */
  peerId: string;
  /** `challenge.serverId`. */
  serverId: string;
  /** `hello.challenge`: the dialing side's nonce. */
  peerNonce: string;
  /** `challenge.nonce`: the accepting side's nonce. */
  serverNonce: string;
}

function serverMessage(c: ProofContext): string {
  return `wsmesh-v2|server|${c.serverId}|${c.kind}|${c.peerId}|${c.peerNonce}|${c.serverNonce}`;
}

function peerMessage(c: ProofContext): string {
  return `wsmesh-v2|${c.kind}|${c.peerId}|${c.serverId}|${c.serverNonce}|${c.peerNonce}`;
}

/** The accepting side's proof, sent in CHALLENGE. */
export function serverProof(secret: string, context: ProofContext): Promise<string> {
  return sign(secret, serverMessage(context));
}

/** Checks the accepting side's proof (the dialing side, before it sends anything reusable). */
export function verifyServerProof(
  secret: string,
  context: ProofContext,
  proof: unknown,
): Promise<boolean> {
  return verify(secret, serverMessage(context), proof);
}

/** The dialing side's proof, sent in AUTH. */
export function peerProof(secret: string, context: ProofContext): Promise<string> {
  return sign(secret, peerMessage(context));
}

/** Checks the dialing side's proof (the accepting side). */
export function verifyPeerProof(
  secret: string,
  context: ProofContext,
  proof: unknown,
): Promise<boolean> {
  return verify(secret, peerMessage(context), proof);
}

/** The HKDF salt of payload encryption: both nonces, so every connection has its own key. */
export function cipherSalt(context: ProofContext): string {
  return `${context.peerNonce}|${context.serverNonce}`;
}
