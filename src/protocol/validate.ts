/**
 * Validation of decoded frames. Nothing a peer sends is used before it passes through
 * {@link validateFrame}, which reads each kind of frame with its own reader: the reader
 * checks every field and builds a new frame of that kind from the checked values, so the
 * result is typed by construction. The readers of the handshake and of messages and groups
 * are here; those of clone links and of RPC have modules of their own. A failure throws a
 * {@link ProtocolError} whose `data.id` names the request to answer (or `data.streamId` the
 * stream), when one can be read.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import {
  bad,
  isCount,
  isName,
  isOptionalName,
  isPositiveId,
  isTarget,
  orNull,
  type ReaderTable,
} from './checks.js';
import { FrameType, type Frame, type FrameOf } from './frames.js';
import { readAuth, readChallenge, readHello, readWelcome, readWireError } from './read-bodies.js';
import { cloneReaders } from './read-clone-frames.js';
import { recoveryReaders } from './read-recovery-frames.js';
import { presenceReaders, readPublishAck, readSubscribeOptions } from './read-presence-frames.js';
import { rpcReaders } from './read-rpc-frames.js';

export {
  isName,
  MAX_NAME_LENGTH,
  MAX_RECORD_PAGES,
  MAX_STREAM_CREDIT,
  MAX_TARGET_GROUPS,
} from './checks.js';
export { isCloneRecord, isFunctionInfo } from './read-bodies.js';
export { isWirePosition } from './read-recovery-frames.js';

function readMessage(items: readonly unknown[]): FrameOf<typeof FrameType.MESSAGE> {
  const id = items[1];
  const route = items[2];
  const act = items[3];
  const data = items[4];
  if (!isCount(id)) throw bad('MESSAGE id must be a non-negative integer');
  if (!isOptionalName(route) || !isOptionalName(act)) {
    throw bad('MESSAGE route and act must be strings or null', id);
  }
  return [FrameType.MESSAGE, id, route, act, orNull(data)];
}

function readReply(items: readonly unknown[]): FrameOf<typeof FrameType.REPLY> {
  const id = items[1];
  const data = items[2];
  if (!isPositiveId(id)) throw bad('REPLY id must be a positive integer');
  return [FrameType.REPLY, id, orNull(data)];
}

function readError(items: readonly unknown[]): FrameOf<typeof FrameType.ERROR> {
  const id = items[1];
  const body = items[2];
  if (!isCount(id)) throw bad('ERROR id must be a non-negative integer');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('ERROR body must be an object', id);
  }
  const error = readWireError(body);
  if (error === undefined) throw bad('ERROR body needs string code and message', id);
  return [FrameType.ERROR, id, error];
}

/** SUBSCRIBE: `[5, id, groupId, options?]`. */
function readSubscribe(items: readonly unknown[]): FrameOf<typeof FrameType.SUBSCRIBE> {
  const id = items[1];
  const groupId = items[2];
  if (!isCount(id)) throw bad('SUBSCRIBE/UNSUBSCRIBE id must be a non-negative integer');
  if (!isName(groupId)) throw bad('group id must be a non-empty string', id);
  const options = readSubscribeOptions(items[3], id);
  return options === undefined
    ? [FrameType.SUBSCRIBE, id, groupId]
    : [FrameType.SUBSCRIBE, id, groupId, options];
}

/** UNSUBSCRIBE: `[6, id, groupId]`. */
function readUnsubscribe(items: readonly unknown[]): FrameOf<typeof FrameType.UNSUBSCRIBE> {
  const id = items[1];
  const groupId = items[2];
  if (!isCount(id)) throw bad('SUBSCRIBE/UNSUBSCRIBE id must be a non-negative integer');
  if (!isName(groupId)) throw bad('group id must be a non-empty string', id);
  return [FrameType.UNSUBSCRIBE, id, groupId];
}

function readPublish(items: readonly unknown[]): FrameOf<typeof FrameType.PUBLISH> {
  const id = items[1];
  const target = items[2];
  const route = items[3];
  const act = items[4];
  const data = items[5];
  const notSendMe = items[6];
  if (!isCount(id)) throw bad('PUBLISH id must be a non-negative integer');
  if (!isTarget(target)) throw bad('PUBLISH target must be a group id, ids or null', id);
  if (!isOptionalName(route) || !isOptionalName(act)) {
    throw bad('PUBLISH route and act must be strings or null', id);
  }
  if (notSendMe !== undefined && typeof notSendMe !== 'boolean') {
    throw bad('PUBLISH notSendMe must be a boolean', id);
  }
  const ack = readPublishAck(items[7], id);
  return ack === null
    ? [FrameType.PUBLISH, id, target, route, act, orNull(data), notSendMe === true]
    : [FrameType.PUBLISH, id, target, route, act, orNull(data), notSendMe === true, ack];
}

function readGroupMessage(items: readonly unknown[]): FrameOf<typeof FrameType.GROUP_MESSAGE> {
  const target = items[1];
  const route = items[2];
  const act = items[3];
  const data = items[4];
  if (!isTarget(target)) throw bad('GROUP_MESSAGE target must be a group id, ids or null');
  if (!isOptionalName(route) || !isOptionalName(act)) {
    throw bad('GROUP_MESSAGE route and act must be strings or null');
  }
  // The position (recovery) is read by whoever uses it: its form depends on the target.
  const position = items[5];
  return position === undefined
    ? [FrameType.GROUP_MESSAGE, target, route, act, orNull(data)]
    : [FrameType.GROUP_MESSAGE, target, route, act, orNull(data), position];
}

function readGroupMessages(items: readonly unknown[]): FrameOf<typeof FrameType.GROUP_MESSAGES> {
  const target = items[1];
  const route = items[2];
  const act = items[3];
  const datas = items[4];
  if (!isTarget(target)) throw bad('GROUP_MESSAGES target must be a group id, ids or null');
  if (!isOptionalName(route) || !isOptionalName(act)) {
    throw bad('GROUP_MESSAGES route and act must be strings or null');
  }
  if (!Array.isArray(datas) || datas.length === 0) {
    throw bad('GROUP_MESSAGES needs a non-empty array of payloads');
  }
  const payloads: unknown[] = datas;
  // Decoders give no undefined elements; the copy is for a value built by hand.
  const filled = payloads.includes(undefined) ? payloads.map(orNull) : payloads;
  return [FrameType.GROUP_MESSAGES, target, route, act, filled];
}

function readMembership(items: readonly unknown[]): FrameOf<typeof FrameType.MEMBERSHIP> {
  const groupId = items[1];
  const joined = items[2];
  if (!isName(groupId) || typeof joined !== 'boolean')
    throw bad('MEMBERSHIP needs a group id and a boolean');
  return [FrameType.MEMBERSHIP, groupId, joined];
}

/**
 * The reader of every frame type. The mapped type makes the compiler check that each reader
 * returns the frame of its own type, and that no frame type of {@link Frame} lacks one: a new
 * frame type (its number in `FrameType`, its tuple type in the `Frame` union) does not compile
 * until a reader for it is added here or to a spread table.
 */
const readers: ReaderTable<Frame[0]> = {
  [FrameType.HELLO]: (items) => [FrameType.HELLO, readHello(items[1])],
  [FrameType.WELCOME]: (items) => [FrameType.WELCOME, readWelcome(items[1])],
  [FrameType.CHALLENGE]: (items) => [FrameType.CHALLENGE, readChallenge(items[1])],
  [FrameType.AUTH]: (items) => [FrameType.AUTH, readAuth(items[1])],
  [FrameType.MESSAGE]: readMessage,
  [FrameType.REPLY]: readReply,
  [FrameType.ERROR]: readError,
  [FrameType.SUBSCRIBE]: readSubscribe,
  [FrameType.UNSUBSCRIBE]: readUnsubscribe,
  [FrameType.PUBLISH]: readPublish,
  [FrameType.GROUP_MESSAGE]: readGroupMessage,
  [FrameType.GROUP_MESSAGES]: readGroupMessages,
  [FrameType.PING]: () => [FrameType.PING],
  [FrameType.PONG]: () => [FrameType.PONG],
  [FrameType.MEMBERSHIP]: readMembership,
  ...recoveryReaders,
  ...presenceReaders,
  ...cloneReaders,
  ...rpcReaders,
};

/** The readers in an array indexed by frame type: one element load per incoming frame. */
const readerByType: (((items: readonly unknown[]) => Frame) | undefined)[] = [];
for (const [type, reader] of Object.entries(readers)) {
  while (readerByType.length < Number(type)) readerByType.push(undefined);
  readerByType[Number(type)] = reader;
}

/**
 * Checks that a decoded value is a valid frame and returns it typed: a new array made of the
 * checked fields, with left-out optional fields filled in (`null` data, `false` notSendMe).
 * Trailing array elements beyond the known fields are ignored (room for later protocol
 * versions).
 */
export function validateFrame(value: unknown): Frame {
  if (!Array.isArray(value) || value.length === 0) throw bad('A frame must be a non-empty array');
  const items: readonly unknown[] = value;
  const type = items[0];
  const reader = typeof type === 'number' ? readerByType[type] : undefined;
  if (reader !== undefined) return reader(items);
  // Only numbers are echoed: a peer's arbitrary value (huge string, deeply nested array)
  // must neither blow the stack in JSON.stringify nor be copied into the error reply.
  const shown =
    typeof type === 'number' ? String(type) : `(${type === null ? 'null' : typeof type})`;
  throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `Unknown frame type ${shown}`);
}
