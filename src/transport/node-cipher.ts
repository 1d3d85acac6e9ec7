/**
 * AES-256-GCM frame encryption with `node:crypto`: key = HKDF-SHA256(secret, salt = the
 * handshake's two nonces, info = "wsmesh-v2|aes-256-gcm|<serverId>|<clientId>"), a random 96-bit IV per frame, and
 * the frame laid out as IV (12 bytes) | ciphertext | tag (16 bytes).
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import type { CipherFactory, FrameCipher } from './frame-cipher.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

/** Node implementation of {@link CipherFactory}. */
export const nodeCipherFactory: CipherFactory = (secret, salt, serverId, clientId) => {
  const key = Buffer.from(
    hkdfSync('sha256', secret, salt, `wsmesh-v2|aes-256-gcm|${serverId}|${clientId}`, 32),
  );
  const cipher: FrameCipher = {
    seal(plain) {
      const iv = randomBytes(IV_BYTES);
      const engine = createCipheriv('aes-256-gcm', key, iv);
      const body = Buffer.concat([engine.update(plain), engine.final()]);
      return Buffer.concat([iv, body, engine.getAuthTag()]);
    },
    open(sealed) {
      if (sealed.byteLength < IV_BYTES + TAG_BYTES) return undefined;
      const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      try {
        const engine = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, IV_BYTES));
        engine.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        return Buffer.concat([
          engine.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
          engine.final(),
        ]);
      } catch {
        return undefined;
      }
    },
  };
  return cipher;
};
