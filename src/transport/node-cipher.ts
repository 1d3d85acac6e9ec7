/**
 * AES-256-GCM frame encryption with `node:crypto`. Each direction has its own key,
 * HKDF-SHA256(secret, salt = the handshake's two nonces, info =
 * "wsmesh-v2|aes-256-gcm|<serverId>|<clientId>|<direction>"), and its own frame counter as
 * the IV, so a sealed frame opens only once, in order, in the direction it was sent: a frame
 * repeated, dropped, reordered or reflected back fails. A frame is laid out as IV (12 bytes:
 * 4 zero bytes, then the 64-bit big-endian counter) | ciphertext | tag (16 bytes).
 * @module
 */
import { createCipheriv, createDecipheriv, hkdfSync } from 'node:crypto';
import type { CipherFactory, FrameCipher } from './frame-cipher.js';

const IV_BYTES = 12;
const TAG_BYTES = 16;

function key(secret: string, salt: string, serverId: string, clientId: string, to: string): Buffer {
  return Buffer.from(
    hkdfSync('sha256', secret, salt, `wsmesh-v2|aes-256-gcm|${serverId}|${clientId}|${to}`, 32),
  );
}

function iv(counter: bigint): Buffer {
  const bytes = Buffer.alloc(IV_BYTES);
  bytes.writeBigUInt64BE(counter, 4);
  return bytes;
}

/** Node implementation of {@link CipherFactory}. */
export const nodeCipherFactory: CipherFactory = (secret, salt, serverId, clientId, side) => {
  const toServer = key(secret, salt, serverId, clientId, 'to-server');
  const toDialer = key(secret, salt, serverId, clientId, 'to-dialer');
  const sendKey = side === 'dialing' ? toServer : toDialer;
  const receiveKey = side === 'dialing' ? toDialer : toServer;
  let sent = 0n;
  let received = 0n;
  const cipher: FrameCipher = {
    seal(plain) {
      const nonce = iv(sent++);
      const engine = createCipheriv('aes-256-gcm', sendKey, nonce);
      const body = Buffer.concat([engine.update(plain), engine.final()]);
      return Buffer.concat([nonce, body, engine.getAuthTag()]);
    },
    open(sealed) {
      if (sealed.byteLength < IV_BYTES + TAG_BYTES) return undefined;
      const bytes = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
      const nonce = bytes.subarray(0, IV_BYTES);
      // Only the next frame of the peer's counter opens.
      if (!nonce.equals(iv(received))) return undefined;
      try {
        const engine = createDecipheriv('aes-256-gcm', receiveKey, nonce);
        engine.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
        const plain = Buffer.concat([
          engine.update(bytes.subarray(IV_BYTES, bytes.length - TAG_BYTES)),
          engine.final(),
        ]);
        received++;
        return plain;
      } catch {
        return undefined;
      }
    },
  };
  return cipher;
};
