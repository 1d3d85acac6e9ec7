/**
 * The first steps of an incoming WebSocket message, before any frame is looked at: decryption,
 * the text-or-binary rule of the codec, and decoding (one frame, or a batch of them).
 * @module
 */
import type { Codec, WirePayload } from '../protocol/codec.js';
import { msgpackValueEnd } from '../protocol/encoded-value.js';
import { CloseCode } from '../protocol/frames.js';
import type { FrameCipher } from './frame-cipher.js';

/** A message that breaks the rules: reported as ERR_BAD_FRAME, then closed with `code`. */
export interface Refusal {
  /** Message of the reported error. */
  message: string;
  /** WebSocket close code. */
  code: number;
  /** Close reason sent to the peer. */
  reason: string;
}

/** How the messages of one connection are read. */
export interface InboundRules {
  /** Codec of the connection. */
  readonly codec: Codec;
  /** Opens sealed messages after an encrypted handshake; undefined when not encrypted. */
  readonly cipher: FrameCipher | undefined;
  /** The peer may send batches (several frames in one message). */
  readonly batches: boolean;
}

/** Takes the values decoded from a message, in order. */
export interface DecodedSink {
  /** One decoded value and the part of the payload it came from. */
  decoded(value: unknown, raw: WirePayload): void;
}

/** Rules without a cipher, per codec: without batches, then with them. */
const sharedRules = new WeakMap<Codec, [InboundRules, InboundRules]>();

/**
 * The rules for `codec`, `batches` and `cipher`. Those without a cipher (nearly every
 * connection) are shared, so an idle connection does not hold its own copy.
 */
export function inboundRules(
  codec: Codec,
  batches: boolean,
  cipher: FrameCipher | undefined,
): InboundRules {
  if (cipher !== undefined) return { codec, cipher, batches };
  let pair = sharedRules.get(codec);
  if (pair === undefined) {
    pair = [
      Object.freeze({ codec, cipher: undefined, batches: false }),
      Object.freeze({ codec, cipher: undefined, batches: true }),
    ];
    sharedRules.set(codec, pair);
  }
  return batches ? pair[1] : pair[0];
}

const textDecoder = new TextDecoder();

/** A text message that is not UTF-8 (RFC 6455: close with 1007). */
export const INVALID_TEXT: Refusal = {
  message: 'A text message is not valid UTF-8',
  code: CloseCode.INVALID_PAYLOAD,
  reason: 'invalid UTF-8',
};

function undecodable(codec: Codec): Refusal {
  const { name } = codec;
  return {
    message: `Undecodable ${name} payload`,
    code: CloseCode.INVALID_PAYLOAD,
    reason: `invalid ${name} payload`,
  };
}

/**
 * Opens one incoming message and hands each decoded value, with the part of the payload it
 * came from, to `sink`, in order. Returns a refusal for a message that breaks the rules; the
 * values of a batch before its broken part were already handed out then. With `intercept`
 * (binary codecs), each frame's bytes are offered to it first, and a frame it takes is never
 * decoded.
 */
export function openMessage(
  payload: WirePayload,
  rules: InboundRules,
  sink: DecodedSink,
  intercept?: (frame: Uint8Array) => boolean,
): Refusal | undefined {
  const { codec, cipher } = rules;
  if (cipher !== undefined) {
    const opened = typeof payload === 'string' ? undefined : cipher.open(payload);
    if (opened === undefined) {
      return {
        message: 'A frame failed decryption',
        code: CloseCode.INVALID_PAYLOAD,
        reason: 'decryption failed',
      };
    }
    payload = codec.binary ? opened : textDecoder.decode(opened);
  }
  if ((typeof payload === 'string') === codec.binary) {
    const { name, binary } = codec;
    return {
      message: `A ${name} connection got a ${binary ? 'text' : 'binary'} message`,
      code: CloseCode.UNSUPPORTED_DATA,
      reason: `${name} connections take ${binary ? 'binary' : 'text'} messages`,
    };
  }
  if (intercept !== undefined && typeof payload !== 'string' && payload.byteLength > 0) {
    const refusal = openIntercepted(payload, rules, sink, intercept);
    if (refusal !== false) return refusal;
  }
  // A JSON batch has a line feed; a MessagePack message is always read as a possible batch.
  if (rules.batches && (typeof payload !== 'string' || payload.includes('\n'))) {
    try {
      codec.decodeEach(payload, (value, raw) => sink.decoded(value, raw));
    } catch {
      return undecodable(codec);
    }
    return undefined;
  }
  let decoded: unknown;
  try {
    decoded = codec.decode(payload);
  } catch {
    return undecodable(codec);
  }
  sink.decoded(decoded, payload);
  return undefined;
}

/**
 * A binary message split into its frames by their encoding alone, each offered to `intercept`
 * before it is decoded. False (nothing handed out yet) when the first frame's end cannot be
 * found, or a message that may not be a batch holds more than one: the ordinary path reads it
 * then (and refuses it when it is broken).
 */
function openIntercepted(
  payload: Uint8Array,
  rules: InboundRules,
  sink: DecodedSink,
  intercept: (frame: Uint8Array) => boolean,
): Refusal | undefined | false {
  const { codec } = rules;
  let end = msgpackValueEnd(payload, 0);
  if (end < 0 || (!rules.batches && end !== payload.byteLength)) return false;
  let start = 0;
  for (;;) {
    const frame = payload.subarray(start, end);
    if (!intercept(frame)) {
      let decoded: unknown;
      try {
        decoded = codec.decode(frame);
      } catch {
        return undecodable(codec);
      }
      sink.decoded(decoded, frame);
    }
    start = end;
    if (start >= payload.byteLength) return undefined;
    end = msgpackValueEnd(payload, start);
    if (end < 0) {
      // Broken (or an extension type) past this point: the decoder says which.
      try {
        codec.decodeEach(payload.subarray(start), (value, raw) => sink.decoded(value, raw));
      } catch {
        return undecodable(codec);
      }
      return undefined;
    }
  }
}
