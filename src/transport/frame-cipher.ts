/**
 * Optional payload encryption of a connection, set up after the handshake: every frame is
 * sealed with AES-256-GCM under a key both sides derive from the shared secret and the
 * handshake nonce (HKDF-SHA256). The interface lives here; the Node implementation is in
 * `node-cipher.ts`, so browser builds do not pull in `node:crypto`.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/** Seals and opens whole frames. */
export interface FrameCipher {
  /** Encrypts one encoded frame. */
  seal(plain: Uint8Array): Uint8Array;
  /** Decrypts one frame; undefined when it was tampered with or not encrypted with this key. */
  open(sealed: Uint8Array): Uint8Array | undefined;
}

/** Derives a cipher from the secret and handshake values. */
export type CipherFactory = (
  secret: string,
  /** HKDF salt: `peerNonce|serverNonce` of the handshake (PROTOCOL.md 2.7). */
  salt: string,
  serverId: string,
  clientId: string,
  /** Which end of the connection this cipher is for: each direction has its own key. */
  side: 'dialing' | 'accepting',
) => FrameCipher;

/** Name of the only scheme, announced in HELLO (`enc`). */
export const CIPHER_SCHEME = 'aes-256-gcm';

/** Checks an `encryption` option: a boolean, and true only with a secret to derive the key from. */
export function checkEncryption(encryption: unknown, secret: unknown): boolean {
  if (encryption === undefined || encryption === false) return false;
  if (encryption !== true) throw new InvalidOptionError('encryption must be a boolean');
  if (secret === undefined) {
    throw new InvalidOptionError('encryption needs a serverSecret to derive its key');
  }
  return true;
}
