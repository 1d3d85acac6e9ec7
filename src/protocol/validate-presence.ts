/**
 * Validation of the presence and cluster-acknowledgement frames (PROTOCOL.md 2.10), and of
 * the optional fields they added to SUBSCRIBE, PUBLISH and CLONE_RELAY. Kept apart from
 * validate.ts so the frames of one feature are checked in one place.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import { FrameType, type Frame } from './frames.js';

/** Longest presence `key` (a connection id on its node), in UTF-16 code units. */
const MAX_KEY_LENGTH = 256;

/** Most presence entries one CLONE_PRESENCE may carry. */
export const MAX_PRESENCE_ENTRIES = 100_000;

function bad(message: string, id?: number): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message, id === undefined ? undefined : { id });
}

function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_KEY_LENGTH;
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isEntry(value: unknown): boolean {
  return Array.isArray(value) && value.length >= 2 && isName(value[0]) && isName(value[1]);
}

/** Checks the optional fourth element of SUBSCRIBE. */
export function checkSubscribeOptions(value: unknown, id: number): void {
  if (value === undefined || value === null) return;
  if (typeof value !== 'object' || Array.isArray(value))
    throw bad('SUBSCRIBE options must be an object', id);
  const { presence } = value as Record<string, unknown>;
  if (presence !== undefined && typeof presence !== 'boolean')
    throw bad('SUBSCRIBE presence must be a boolean', id);
}

/** Checks the optional eighth element of PUBLISH. */
export function checkPublishAck(value: unknown, id: number): void {
  if (value !== undefined && value !== null && value !== 'cluster')
    throw bad('PUBLISH ack must be "cluster" or null', id);
}

/** Checks the optional seventh element of CLONE_RELAY. */
export function checkRelayAckTo(value: unknown): void {
  if (value !== undefined && value !== null && !isName(value))
    throw bad('CLONE_RELAY ackTo must be a clone id or null');
}

/** Validates frames 16, 17 and 50-53; undefined for any other type. */
export function validatePresenceFrame(value: unknown[]): Frame | undefined {
  switch (value[0]) {
    case FrameType.PRESENCE: {
      const id = value[1];
      if (!isCount(id) || id === 0) throw bad('PRESENCE id must be a positive integer');
      if (!isName(value[2])) throw bad('PRESENCE group id must be a non-empty string', id);
      if (value[3] !== undefined && typeof value[3] !== 'boolean')
        throw bad('PRESENCE countOnly must be a boolean', id);
      value[3] = value[3] === true;
      return value as Frame;
    }
    case FrameType.PRESENCE_EVENT:
      if (
        !isName(value[1]) ||
        typeof value[2] !== 'boolean' ||
        !isName(value[3]) ||
        !isName(value[5])
      )
        throw bad('PRESENCE_EVENT needs group id, joined, client id, data and node');
      return value as Frame;
    case FrameType.CLONE_ACK:
      if (!isName(value[1]) || !isName(value[2]) || !isCount(value[3]))
        throw bad('CLONE_ACK needs from, to and a version');
      return value as Frame;
    case FrameType.CLONE_DELIVERED:
      if (!isName(value[1]) || !isName(value[2]) || !isCount(value[3]) || !isCount(value[4]))
        throw bad('CLONE_DELIVERED needs from, to, seq and a count');
      return value as Frame;
    case FrameType.CLONE_PRESENCE: {
      const [, from, to, groupId, reset, joins, leaves] = value;
      if (!isName(from) || !isName(to) || !isName(groupId) || typeof reset !== 'boolean')
        throw bad('CLONE_PRESENCE needs from, to, group id and reset');
      if (
        !Array.isArray(joins) ||
        !Array.isArray(leaves) ||
        joins.length + leaves.length > MAX_PRESENCE_ENTRIES ||
        !joins.every(isEntry) ||
        !leaves.every(isName)
      )
        throw bad('CLONE_PRESENCE joins must be [key, clientId, data] entries, leaves keys');
      return value as Frame;
    }
    case FrameType.CLONE_PRESENCE_FETCH:
      if (!isName(value[1]) || !isName(value[2]) || !isName(value[3]))
        throw bad('CLONE_PRESENCE_FETCH needs from, to and a group id');
      return value as Frame;
    default:
      return undefined;
  }
}
