/**
 * MessagePack binary frames, via `msgpackr`. Loaded only when a connection asks for it, so
 * browser bundles that speak JSON never pull it in.
 * @module
 */
import { Packr } from 'msgpackr';
import { SerializationError } from '../errors.js';
import { Subprotocol, type Codec } from './codec.js';

// Plain MessagePack only: no msgpackr records or structured clones, so any MessagePack
// implementation in any language can read and write these frames.
const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  moreTypes: false,
  structuredClone: false,
  variableMapSize: true,
});

/** MessagePack codec (binary WebSocket messages). */
export const msgpackCodec: Codec = {
  name: 'msgpack',
  subprotocol: Subprotocol.msgpack,
  binary: true,
  encode(frame) {
    try {
      return packr.pack(frame);
    } catch (error) {
      throw new SerializationError(
        `MessagePack cannot encode this value: ${error instanceof Error ? error.message : String(error)}`,
      );
    }
  },
  decode(payload) {
    if (typeof payload === 'string') throw new TypeError('MessagePack frames must be binary');
    return packr.unpack(payload);
  },
};
