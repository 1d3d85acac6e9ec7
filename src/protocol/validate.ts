/**
 * Validation of decoded frames. Nothing a peer sends is used before it passes through
 * {@link validateFrame}, which reads each kind of frame with its own reader: the reader
 * checks every field and builds a new frame of that kind from the checked values, so the
 * result is typed by construction. A failure throws a {@link ProtocolError} whose `data.id`
 * names the request to answer (or `data.streamId` the stream), when one can be read.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import {
  bad,
  badStream,
  isCount,
  isName,
  isNameList,
  isOptionalName,
  isPositiveId,
  isTarget,
  isUrl,
  MAX_STREAM_CREDIT,
  orNull,
} from './checks.js';
import {
  FrameType,
  type CloneRecord,
  type Frame,
  type FrameOf,
  type LinkRoute,
  type RpcCallFrame,
  type RpcStreamFrame,
} from './frames.js';
import {
  readAuth,
  readChallenge,
  readCloneRecord,
  readFunctionInfo,
  readHello,
  readWelcome,
  readWireError,
} from './read-bodies.js';

export {
  isName,
  MAX_NAME_LENGTH,
  MAX_RECORD_PAGES,
  MAX_STREAM_CREDIT,
  MAX_TARGET_GROUPS,
} from './checks.js';
export { isCloneRecord, isFunctionInfo } from './read-bodies.js';

/** Most forwarding hops an RPC frame may ask for. */
const MAX_HOPS = 64;

/** Longest RPC_CALL timeout, in ms (one day). */
const MAX_CALL_TIMEOUT = 86_400_000;

/** Reads the elements of one kind of frame (type already checked) into that frame. */
type FrameReader<T extends Frame[0]> = (items: readonly unknown[]) => FrameOf<T>;

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

/** SUBSCRIBE and UNSUBSCRIBE: `[type, id, groupId]`. */
function groupRequest<T extends typeof FrameType.SUBSCRIBE | typeof FrameType.UNSUBSCRIBE>(
  type: T,
): (items: readonly unknown[]) => [T, number, string] {
  return (items) => {
    const id = items[1];
    const groupId = items[2];
    if (!isCount(id)) throw bad('SUBSCRIBE/UNSUBSCRIBE id must be a non-negative integer');
    if (!isName(groupId)) throw bad('group id must be a non-empty string', id);
    return [type, id, groupId];
  };
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
  return [FrameType.PUBLISH, id, target, route, act, orNull(data), notSendMe === true];
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
  return [FrameType.GROUP_MESSAGE, target, route, act, orNull(data)];
}

function readMembership(items: readonly unknown[]): FrameOf<typeof FrameType.MEMBERSHIP> {
  const groupId = items[1];
  const joined = items[2];
  if (!isName(groupId) || typeof joined !== 'boolean')
    throw bad('MEMBERSHIP needs a group id and a boolean');
  return [FrameType.MEMBERSHIP, groupId, joined];
}

function readCloneSync(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_SYNC> {
  const records = items[1];
  const known = items[2];
  if (!Array.isArray(records)) throw bad('CLONE_SYNC records invalid');
  const read: CloneRecord[] = [];
  for (const value of records) {
    const record = readCloneRecord(value);
    if (record === undefined) throw bad('CLONE_SYNC records invalid');
    read.push(record);
  }
  if (!Array.isArray(known)) throw bad('CLONE_SYNC known clones invalid');
  const clones: [string, string | null][] = [];
  for (const entry of known) {
    if (!Array.isArray(entry)) throw bad('CLONE_SYNC known clones invalid');
    const [id, url]: unknown[] = entry;
    if (!isName(id) || !isUrl(url)) throw bad('CLONE_SYNC known clones invalid');
    clones.push([id, url]);
  }
  return [FrameType.CLONE_SYNC, read, clones];
}

function readCloneUpdate(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_UPDATE> {
  const record = readCloneRecord(items[1]);
  if (record === undefined) throw bad('CLONE_UPDATE record invalid');
  return [FrameType.CLONE_UPDATE, record];
}

function readCloneRequest(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_REQUEST> {
  const cloneId = items[1];
  if (!isName(cloneId)) throw bad('CLONE_REQUEST needs a clone id');
  return [FrameType.CLONE_REQUEST, cloneId];
}

function readCloneDigest(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_DIGEST> {
  const entries = items[1];
  const fail = (): ProtocolError => bad('CLONE_DIGEST entries must be [id, version]');
  if (!Array.isArray(entries)) throw fail();
  const digest: [string, number][] = [];
  for (const entry of entries) {
    if (!Array.isArray(entry)) throw fail();
    const [id, version]: unknown[] = entry;
    if (!isName(id) || !isCount(version)) throw fail();
    digest.push([id, version]);
  }
  return [FrameType.CLONE_DIGEST, digest];
}

function readCloneRelay(items: readonly unknown[]): FrameOf<typeof FrameType.CLONE_RELAY> {
  const origin = items[1];
  const seq = items[2];
  const dests = items[3];
  const target = items[4];
  const bytes = items[5];
  if (!isName(origin) || !isCount(seq)) throw bad('CLONE_RELAY origin/seq invalid');
  if (!(dests === null || isNameList(dests))) throw bad('CLONE_RELAY dests invalid');
  if (!isTarget(target)) throw bad('CLONE_RELAY target invalid');
  if (!(bytes instanceof Uint8Array)) throw bad('CLONE_RELAY payload must be bytes');
  return [FrameType.CLONE_RELAY, origin, seq, dests, target, bytes];
}

function readCloneGroupDelete(
  items: readonly unknown[],
): FrameOf<typeof FrameType.CLONE_GROUP_DELETE> {
  const origin = items[1];
  const seq = items[2];
  const groupId = items[3];
  if (!isName(origin) || !isCount(seq) || !isName(groupId)) {
    throw bad('CLONE_GROUP_DELETE needs origin, seq and group id');
  }
  return [FrameType.CLONE_GROUP_DELETE, origin, seq, groupId];
}

/** The parts RPC_CALL and RPC_STREAM share: id, namespace, name, args and hops. */
function readInvocation(
  items: readonly unknown[],
  fail: (message: string, id: number) => ProtocolError,
  hopsAt: number,
): { id: number; namespace: string; name: string; args: unknown[]; hops: number | null } {
  const id = items[1];
  const namespace = items[2];
  const name = items[3];
  const args = items[4];
  if (!isPositiveId(id)) throw bad('RPC call id must be a positive integer');
  if (!isName(namespace) || !isName(name)) throw fail('RPC namespace and name must be strings', id);
  if (!Array.isArray(args)) throw fail('RPC args must be an array', id);
  const hops = items[hopsAt];
  if (hops !== undefined && hops !== null && !(isCount(hops) && hops <= MAX_HOPS)) {
    throw fail(`RPC hops must be an integer from 0 to ${MAX_HOPS}`, id);
  }
  return { id, namespace, name, args, hops: hops ?? null };
}

function readRpcCall(items: readonly unknown[]): RpcCallFrame {
  const { id, namespace, name, args, hops } = readInvocation(items, bad, 5);
  const timeout = items[6];
  if (timeout === undefined) {
    return items.length > 5
      ? [FrameType.RPC_CALL, id, namespace, name, args, hops]
      : [FrameType.RPC_CALL, id, namespace, name, args];
  }
  if (!(typeof timeout === 'number' && timeout > 0 && timeout <= MAX_CALL_TIMEOUT)) {
    throw bad('RPC_CALL timeout must be a positive number of ms', id);
  }
  return [FrameType.RPC_CALL, id, namespace, name, args, hops, timeout];
}

function readRpcStream(items: readonly unknown[]): RpcStreamFrame {
  // Stream ids are not request ids: a stream's problems are answered on the stream.
  const { id, namespace, name, args, hops } = readInvocation(items, badStream, 6);
  const credit = items[5];
  if (!(isPositiveId(credit) && credit <= MAX_STREAM_CREDIT)) {
    throw badStream(`RPC_STREAM credit must be an integer from 1 to ${MAX_STREAM_CREDIT}`, id);
  }
  return hops === null
    ? [FrameType.RPC_STREAM, id, namespace, name, args, credit]
    : [FrameType.RPC_STREAM, id, namespace, name, args, credit, hops];
}

/** RPC_CANCEL and RPC_STREAM_CANCEL: `[type, id]`. */
function cancel<T extends typeof FrameType.RPC_CANCEL | typeof FrameType.RPC_STREAM_CANCEL>(
  type: T,
): (items: readonly unknown[]) => [T, number] {
  return (items) => {
    const id = items[1];
    if (!isPositiveId(id)) throw bad('RPC_CANCEL/RPC_STREAM_CANCEL id must be a positive integer');
    return [type, id];
  };
}

function readRpcItems(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_ITEMS> {
  const streamId = items[1];
  const values = items[2];
  if (!isPositiveId(streamId) || !Array.isArray(values))
    throw bad('RPC_ITEMS needs a stream id and items');
  return [FrameType.RPC_ITEMS, streamId, values];
}

function readRpcEnd(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_END> {
  const streamId = items[1];
  const value = items[2];
  if (!isPositiveId(streamId)) throw bad('RPC_END needs a stream id');
  return [FrameType.RPC_END, streamId, orNull(value)];
}

function readRpcStreamError(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_STREAM_ERROR> {
  const streamId = items[1];
  const body = items[2];
  if (!isPositiveId(streamId)) throw bad('RPC_STREAM_ERROR needs a stream id');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('ERROR body must be an object', 0);
  }
  const error = readWireError(body);
  if (error === undefined) throw bad('ERROR body needs string code and message', 0);
  return [FrameType.RPC_STREAM_ERROR, streamId, error];
}

function readRpcCredit(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_CREDIT> {
  const streamId = items[1];
  const n = items[2];
  // A count above MAX_STREAM_CREDIT is well formed: the producer fails that stream.
  if (!isPositiveId(streamId) || !isPositiveId(n)) {
    throw bad('RPC_CREDIT needs a stream id and a positive count');
  }
  return [FrameType.RPC_CREDIT, streamId, n];
}

function readRpcList(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_LIST> {
  const id = items[1];
  const namespace = items[2];
  if (!isPositiveId(id)) throw bad('RPC_LIST id must be a positive integer');
  if (!isName(namespace)) throw bad('RPC_LIST namespace must be a string', id);
  return [FrameType.RPC_LIST, id, namespace];
}

function readLinkRoutes(items: readonly unknown[]): FrameOf<typeof FrameType.LINK_ROUTES> {
  const namespace = items[1];
  const routes = items[2];
  const fail = (): ProtocolError =>
    bad('LINK_ROUTES needs a namespace and [name, info, path] routes');
  if (!isName(namespace) || !Array.isArray(routes)) throw fail();
  const read: LinkRoute[] = [];
  for (const route of routes) {
    if (!Array.isArray(route)) throw fail();
    const [name, description, path]: unknown[] = route;
    const info = readFunctionInfo(description);
    if (!isName(name) || info === undefined || !isNameList(path) || path.length > MAX_HOPS) {
      throw fail();
    }
    read.push([name, info, path]);
  }
  return [FrameType.LINK_ROUTES, namespace, read];
}

function readRpcFunctions(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_FUNCTIONS> {
  const namespace = items[1];
  const functions = items[2];
  const fail = (): ProtocolError =>
    bad('RPC_FUNCTIONS needs a namespace and function descriptions');
  if (!isName(namespace) || !Array.isArray(functions)) throw fail();
  const read = [];
  for (const value of functions) {
    const info = readFunctionInfo(value);
    if (info === undefined) throw fail();
    read.push(info);
  }
  return [FrameType.RPC_FUNCTIONS, namespace, read];
}

/**
 * The reader of every frame type. The mapped type makes the compiler check that each reader
 * returns the frame of its own type, and that no frame type of {@link Frame} lacks one.
 */
const readers: { readonly [T in Frame[0]]: FrameReader<T> } = {
  [FrameType.HELLO]: (items) => [FrameType.HELLO, readHello(items[1])],
  [FrameType.WELCOME]: (items) => [FrameType.WELCOME, readWelcome(items[1])],
  [FrameType.CHALLENGE]: (items) => [FrameType.CHALLENGE, readChallenge(items[1])],
  [FrameType.AUTH]: (items) => [FrameType.AUTH, readAuth(items[1])],
  [FrameType.MESSAGE]: readMessage,
  [FrameType.REPLY]: readReply,
  [FrameType.ERROR]: readError,
  [FrameType.SUBSCRIBE]: groupRequest(FrameType.SUBSCRIBE),
  [FrameType.UNSUBSCRIBE]: groupRequest(FrameType.UNSUBSCRIBE),
  [FrameType.PUBLISH]: readPublish,
  [FrameType.GROUP_MESSAGE]: readGroupMessage,
  [FrameType.PING]: () => [FrameType.PING],
  [FrameType.PONG]: () => [FrameType.PONG],
  [FrameType.MEMBERSHIP]: readMembership,
  [FrameType.CLONE_SYNC]: readCloneSync,
  [FrameType.CLONE_UPDATE]: readCloneUpdate,
  [FrameType.CLONE_REQUEST]: readCloneRequest,
  [FrameType.CLONE_DIGEST]: readCloneDigest,
  [FrameType.CLONE_RELAY]: readCloneRelay,
  [FrameType.CLONE_GROUP_DELETE]: readCloneGroupDelete,
  [FrameType.RPC_CALL]: readRpcCall,
  [FrameType.RPC_CANCEL]: cancel(FrameType.RPC_CANCEL),
  [FrameType.RPC_STREAM]: readRpcStream,
  [FrameType.RPC_ITEMS]: readRpcItems,
  [FrameType.RPC_END]: readRpcEnd,
  [FrameType.RPC_STREAM_ERROR]: readRpcStreamError,
  [FrameType.RPC_CREDIT]: readRpcCredit,
  [FrameType.RPC_STREAM_CANCEL]: cancel(FrameType.RPC_STREAM_CANCEL),
  [FrameType.RPC_LIST]: readRpcList,
  [FrameType.RPC_FUNCTIONS]: readRpcFunctions,
  [FrameType.LINK_ROUTES]: readLinkRoutes,
};

/**
 * The readers indexed by frame type, for the lookup on every incoming frame (an array with
 * no holes is much faster to index than an object with numeric keys).
 */
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
