/**
 * Proving knowledge of a shared secret without sending it: an HMAC-SHA256 over the peer's
 * kind and id, a timestamp and a nonce. The receiver checks the clock window and refuses a
 * nonce it has seen (no replay), and answers with its own proof over the nonce so the dialing
 * side knows the server holds the secret too. WebCrypto, so the same code runs in browsers.
 * @module
 */
import type { SecretProof } from '../protocol/frames.js';

/** How far the two clocks may disagree, in ms. */
export const PROOF_WINDOW_MS = 60_000;

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

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

function randomNonce(): string {
  const bytes = new Uint8Array(18);
  globalThis.crypto.getRandomValues(bytes);
  return toBase64Url(bytes.buffer);
}

async function sign(secret: string, message: string): Promise<string> {
  return toBase64Url(
    await globalThis.crypto.subtle.sign('HMAC', await hmacKey(secret), encoder.encode(message)),
  );
}

async function verify(secret: string, message: string, proof: string): Promise<boolean> {
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

/** Builds the HELLO proof for a peer of `kind` with `id`. */
export async function createProof(secret: string, kind: string, id: string): Promise<SecretProof> {
  const ts = Date.now();
  const nonce = randomNonce();
  return {
    alg: 'hmac-sha256',
    ts,
    nonce,
    proof: await sign(secret, `wsmesh-v1|${kind}|${id}|${ts}|${nonce}`),
  };
}

/** The proof a server returns in WELCOME for a peer's nonce. */
export function serverProof(secret: string, serverId: string, nonce: string): Promise<string> {
  return sign(secret, `wsmesh-v1|server|${serverId}|${nonce}`);
}

/** Checks a server's WELCOME proof. */
export function verifyServerProof(
  secret: string,
  serverId: string,
  nonce: string,
  proof: string,
): Promise<boolean> {
  return verify(secret, `wsmesh-v1|server|${serverId}|${nonce}`, proof);
}

/** Remembers nonces for the proof window so a captured HELLO cannot be replayed. */
export class NonceCache {
  private readonly seen = new Map<string, number>();

  /** Records `nonce`; false if it was seen within the window. */
  use(nonce: string, now: number): boolean {
    if (this.seen.size > 10_000) {
      for (const [key, expires] of this.seen) if (expires < now) this.seen.delete(key);
    }
    const expires = this.seen.get(nonce);
    if (expires !== undefined && expires >= now) return false;
    this.seen.set(nonce, now + 2 * PROOF_WINDOW_MS);
    return true;
  }
}

function isProof(value: unknown): value is SecretProof {
  if (typeof value !== 'object' || value === null) return false;
  const { alg, ts, nonce, proof } = value as Record<string, unknown>;
  return (
    alg === 'hmac-sha256' &&
    typeof ts === 'number' &&
    typeof nonce === 'string' &&
    nonce.length >= 16 &&
    nonce.length <= 128 &&
    typeof proof === 'string'
  );
}

/** Checks a HELLO proof: shape, clock window, fresh nonce, HMAC. Returns the nonce when valid. */
export async function verifyProof(
  secret: string,
  kind: string,
  id: string,
  value: unknown,
  nonces: NonceCache,
): Promise<string | undefined> {
  if (!isProof(value)) return undefined;
  const now = Date.now();
  if (Math.abs(now - value.ts) > PROOF_WINDOW_MS) return undefined;
  if (!(await verify(secret, `wsmesh-v1|${kind}|${id}|${value.ts}|${value.nonce}`, value.proof)))
    return undefined;
  if (!nonces.use(value.nonce, now)) return undefined;
  return value.nonce;
}
