/**
 * Codecs turn frames into WebSocket payloads and back. A codec is chosen per connection by
 * WebSocket subprotocol; JSON text frames are the default.
 * @module
 */
import { SerializationError } from '../errors.js';

/** Names of the available codecs. */
export type CodecName = 'json' | 'msgpack';

/** Payload of one WebSocket message as handed to a codec. */
export type WirePayload = string | Uint8Array;

/** Encodes and decodes whole frames. */
export interface Codec {
  /** Codec name. */
  readonly name: CodecName;
  /** WebSocket subprotocol that selects this codec. */
  readonly subprotocol: string;
  /** True when frames travel as binary WebSocket messages. */
  readonly binary: boolean;
  /** Encodes a frame. Throws {@link SerializationError} for values the codec cannot carry. */
  encode(frame: readonly unknown[]): WirePayload;
  /** Decodes a payload. Throws on bytes that are not valid for this codec. */
  decode(payload: WirePayload): unknown;
  /**
   * Decodes a batch (several frames in one message, see PROTOCOL.md "Batches"): calls
   * `each` with every frame and the part of the payload it came from, in order. Throws on
   * bytes that are not valid for this codec, after handing out the frames before them.
   */
  decodeEach(payload: WirePayload, each: (value: unknown, raw: WirePayload) => void): void;
  /** Joins encoded frames into one batch payload. */
  join(payloads: readonly WirePayload[]): WirePayload;
}

/** Separates the frames of a JSON batch. JSON.stringify never writes a raw line feed. */
export const JSON_BATCH_SEPARATOR = '\n';

/** Subprotocol names, `wsmesh.v<version>.<codec>`. */
export const Subprotocol = {
  json: 'wsmesh.v1.json',
  msgpack: 'wsmesh.v1.msgpack',
} as const satisfies Record<CodecName, string>;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * JSON text of `value` as an element of an encoded frame: what JSON leaves out (undefined, a
 * function) is `null`, as in an array. Throws {@link SerializationError}.
 */
export function jsonElement(value: unknown): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch (error) {
    throw new SerializationError(`JSON cannot encode this value: ${describe(error)}`);
  }
}

/** JSON text frames. Numbers, strings, booleans, null, arrays and plain objects. */
export const jsonCodec: Codec = {
  name: 'json',
  subprotocol: Subprotocol.json,
  binary: false,
  encode(frame) {
    return jsonElement(frame);
  },
  decode(payload) {
    return JSON.parse(typeof payload === 'string' ? payload : textDecoder.decode(payload));
  },
  decodeEach(payload, each) {
    const text = typeof payload === 'string' ? payload : textDecoder.decode(payload);
    for (const line of text.split(JSON_BATCH_SEPARATOR)) each(JSON.parse(line), line);
  },
  join(payloads) {
    return payloads.join(JSON_BATCH_SEPARATOR);
  },
};
