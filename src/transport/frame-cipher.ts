/**
 * Optional payload encryption of a connection, set up after the handshake: every frame is
 * sealed with AES-256-GCM under a key both sides derive from the shared secret and the
 * handshake nonce (HKDF-SHA256). The interface lives here; the Node implementation is in
 * `node-cipher.ts`, so browser builds do not pull in `node:crypto`.
 * @module
 */

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
  nonce: string,
  serverId: string,
  clientId: string,
) => FrameCipher;

/** Name of the only scheme, announced in HELLO (`enc`). */
export const CIPHER_SCHEME = 'aes-256-gcm';
