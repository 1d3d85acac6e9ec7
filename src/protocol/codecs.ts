/**
 * Codec registry: resolves a codec by name or subprotocol, loading optional codecs lazily.
 * @module
 */
import { InvalidOptionError, SerializationError } from '../errors.js';
import { jsonCodec, Subprotocol, type Codec, type CodecName } from './codec.js';
import type * as MessagePack from './msgpack.js';

let msgpackLoading: Promise<Codec> | undefined;
let msgpackLoaded: Codec | undefined;

/** True when `name` is a codec this build knows. */
export function isCodecName(name: unknown): name is CodecName {
  return name === 'json' || name === 'msgpack';
}

/** Loads a codec by name (MessagePack is imported on first use). */
export async function loadCodec(name: CodecName): Promise<Codec> {
  if (name === 'json') return jsonCodec;
  if (name === 'msgpack') {
    msgpackLoading ??= import('./msgpack.js').then((module) => {
      msgpackLoaded = msgpackCodec(module);
      return msgpackLoaded;
    });
    return msgpackLoading;
  }
  throw new InvalidOptionError(`Unknown codec "${String(name)}": use "json" or "msgpack"`);
}

/** Returns an already loaded codec for a subprotocol, or undefined. */
export function codecForSubprotocol(subprotocol: string): Codec | undefined {
  if (subprotocol === Subprotocol.json) return jsonCodec;
  if (subprotocol === Subprotocol.msgpack) return msgpackLoaded;
  return undefined;
}

/** MessagePack codec (binary WebSocket messages) over the lazily loaded msgpack module. */
function msgpackCodec({ pack, unpack, unpackEach }: typeof MessagePack): Codec {
  return {
    name: 'msgpack',
    subprotocol: Subprotocol.msgpack,
    binary: true,
    encode(frame) {
      try {
        return pack(frame);
      } catch (error) {
        throw new SerializationError(
          `MessagePack cannot encode this value: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    },
    decode(payload) {
      if (typeof payload === 'string') throw new TypeError('MessagePack frames must be binary');
      return unpack(payload);
    },
    decodeEach(payload, each) {
      if (typeof payload === 'string') throw new TypeError('MessagePack frames must be binary');
      unpackEach(payload, each);
    },
    join(payloads) {
      let length = 0;
      for (const payload of payloads) {
        if (typeof payload === 'string') throw new TypeError('MessagePack frames must be binary');
        length += payload.byteLength;
      }
      const joined = new Uint8Array(length);
      let offset = 0;
      for (const payload of payloads) {
        joined.set(payload as Uint8Array, offset);
        offset += (payload as Uint8Array).byteLength;
      }
      return joined;
    },
  };
}
