/**
 * Limits and checks of single fields that every frame reader shares, and the errors a bad
 * frame is refused with.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import type { Frame, FrameOf, GroupTarget } from './frames.js';

/** Longest accepted route, act, group id or peer id, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;

/** Most group ids accepted in one HELLO or one publish target. */
export const MAX_TARGET_GROUPS = 10_000;

/**
 * Most credit an RPC stream's producer may hold: the largest `credit` of RPC_STREAM, and the
 * largest window a consumer may keep open.
 */
export const MAX_STREAM_CREDIT = 65_536;

/** Most pages one clone record may be cut into. */
export const MAX_RECORD_PAGES = 65_536;

/** Longest url of a clone, in UTF-16 code units. */
export const MAX_URL_LENGTH = 2048;

/** A bad frame (ERR_BAD_FRAME); `id` names the request to answer when it could be read. */
export function bad(message: string, id?: number): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message, id === undefined ? undefined : { id });
}

/** A malformed RPC_STREAM whose stream id could be read: it is answered on that stream. */
export function badStream(message: string, streamId: number): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message, { streamId });
}

/** Handshake bodies that break the rules are a protocol error (close 4001), not a bad frame. */
export function badHandshake(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.PROTOCOL, message);
}

/** True for a non-empty string of at most {@link MAX_NAME_LENGTH} code units. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

/** A name or null. */
export function isOptionalName(value: unknown): value is string | null {
  return value === null || isName(value);
}

/** An object that is not an array (nor null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A list of names of at most {@link MAX_TARGET_GROUPS} entries. */
export function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_TARGET_GROUPS && value.every(isName);
}

/** A list of names of any length (interest lists of clone records). */
export function isUnboundedNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isName);
}

/** A non-negative safe integer: request ids (0 = no reply wanted), versions, counts. */
export function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** A positive safe integer: ids of requests that want a reply, stream ids, credit. */
export function isPositiveId(value: unknown): value is number {
  return isCount(value) && value > 0;
}

/** A handshake nonce: 16 to 128 base64url characters. */
export function isNonce(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(value);
}

/** A clone's url: a string of at most {@link MAX_URL_LENGTH} code units, or null. */
export function isUrl(value: unknown): value is string | null {
  return value === null || (typeof value === 'string' && value.length <= MAX_URL_LENGTH);
}

/** Target of a publish: one group id, several, or null for every group. */
export function isTarget(value: unknown): value is GroupTarget {
  return value === null || isName(value) || isNameList(value);
}

/** The value of an optional trailing field: null when the peer left it out. */
export function orNull(value: unknown): unknown {
  return value === undefined ? null : value;
}

/** Reads the elements of one kind of frame (type already checked) into that frame. */
export type FrameReader<T extends Frame[0]> = (items: readonly unknown[]) => FrameOf<T>;

/**
 * Readers of the frame types `T`, one per type. The mapped type makes the compiler check that
 * each reader returns the frame of its own type, and that none of `T` lacks one.
 */
export type ReaderTable<T extends Frame[0]> = { readonly [K in T]: FrameReader<K> };
