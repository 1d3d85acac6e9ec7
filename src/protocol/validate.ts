/**
 * Validation of decoded frames. Nothing a peer sends is used before it passes through
 * {@link validateFrame}; a failure throws a {@link ProtocolError} whose `data.id` names the
 * request to answer, when one can be read from the frame.
 * @module
 */
import { ErrorCode, ProtocolError } from '../errors.js';
import {
  FrameType,
  type AuthBody,
  type ChallengeBody,
  type CloneRecord,
  type Frame,
  type HelloBody,
  type WelcomeBody,
  type WireError,
} from './frames.js';
import {
  checkPublishAck,
  checkRelayAckTo,
  checkSubscribeOptions,
  validatePresenceFrame,
} from './validate-presence.js';

/** Longest accepted route, act, group id or peer id, in UTF-16 code units. */
export const MAX_NAME_LENGTH = 256;

/** Most group ids accepted in one HELLO or one publish target. */
export const MAX_TARGET_GROUPS = 10_000;

/**
 * Most credit an RPC stream's producer may hold: the largest `credit` of RPC_STREAM, and the
 * largest window a consumer may keep open.
 */
export const MAX_STREAM_CREDIT = 65_536;

const PEER_KINDS = new Set(['client', 'clone', 'link', 'rpc']);

function bad(message: string, id?: number): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message, id === undefined ? undefined : { id });
}

/** Handshake bodies that break the rules are a protocol error (close 4001), not a bad frame. */
function badHandshake(message: string): ProtocolError {
  return new ProtocolError(ErrorCode.PROTOCOL, message);
}

/** A handshake nonce: 16 to 128 base64url characters. */
function isNonce(value: unknown): value is string {
  return typeof value === 'string' && /^[A-Za-z0-9_-]{16,128}$/.test(value);
}

/** A malformed RPC_STREAM whose stream id could be read: it is answered on that stream. */
function badStream(message: string, streamId: number): ProtocolError {
  return new ProtocolError(ErrorCode.BAD_FRAME, message, { streamId });
}

function isRequestId(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** True for a non-empty string of at most {@link MAX_NAME_LENGTH} code units. */
export function isName(value: unknown): value is string {
  return typeof value === 'string' && value.length > 0 && value.length <= MAX_NAME_LENGTH;
}

function isOptionalName(value: unknown): value is string | null {
  return value === null || isName(value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.length <= MAX_TARGET_GROUPS && value.every(isName);
}

function checkHello(body: unknown): HelloBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('HELLO body must be an object');
  const { v, id, kind, maxPayload, instance, namespace, challenge } = body;
  if (namespace !== undefined && !isName(namespace)) throw bad('HELLO.namespace must be a string');
  if (body.enc !== undefined && body.enc !== 'aes-256-gcm')
    throw bad('HELLO.enc must be aes-256-gcm');
  if (instance !== undefined && !isName(instance)) throw bad('HELLO.instance must be a string');
  if (body.batch !== undefined && typeof body.batch !== 'boolean')
    throw bad('HELLO.batch must be a boolean');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw bad('HELLO.v must be a version');
  if (!isName(id)) throw bad('HELLO.id must be a non-empty string');
  if (kind !== undefined && !(typeof kind === 'string' && PEER_KINDS.has(kind))) {
    throw bad('HELLO.kind must be client, clone, link or rpc');
  }
  if (maxPayload !== undefined && !(typeof maxPayload === 'number' && maxPayload > 0)) {
    throw bad('HELLO.maxPayload must be a positive number');
  }
  if (challenge !== undefined && !isNonce(challenge)) {
    throw bad('HELLO.challenge must be 16-128 base64url characters');
  }
  if (body.enc !== undefined && challenge === undefined) {
    throw bad('HELLO.enc needs HELLO.challenge (encryption is keyed by the secret proof)');
  }
  return body as unknown as HelloBody;
}

function checkWelcome(body: unknown): WelcomeBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('WELCOME body must be an object');
  const { v, serverId, connectionId, maxPayload } = body;
  if (typeof v !== 'number') throw bad('WELCOME.v must be a version');
  if (body.batch !== undefined && typeof body.batch !== 'boolean')
    throw bad('WELCOME.batch must be a boolean');
  if (!isName(serverId) || !isName(connectionId)) throw bad('WELCOME ids must be strings');
  if (typeof maxPayload !== 'number' || maxPayload <= 0) throw bad('WELCOME.maxPayload invalid');
  return body as unknown as WelcomeBody;
}

function checkChallenge(body: unknown): ChallengeBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('CHALLENGE body must be an object');
  if (!isName(body.serverId)) throw bad('CHALLENGE.serverId must be a string');
  if (!isNonce(body.nonce)) throw bad('CHALLENGE.nonce must be 16-128 base64url characters');
  if (body.proof !== undefined && typeof body.proof !== 'string')
    throw bad('CHALLENGE.proof must be a string');
  return body as unknown as ChallengeBody;
}

function checkAuth(body: unknown): AuthBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('AUTH body must be an object');
  if (body.proof !== undefined && typeof body.proof !== 'string')
    throw bad('AUTH.proof must be a string');
  return body as unknown as AuthBody;
}

function checkWireError(value: unknown, id: number): WireError {
  if (!isPlainObject(value)) throw bad('ERROR body must be an object', id);
  if (typeof value.code !== 'string' || typeof value.message !== 'string') {
    throw bad('ERROR body needs string code and message', id);
  }
  return value as unknown as WireError;
}

function isVersion(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

function isUnboundedNameList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every(isName);
}

/** Checks a clone record (see `CloneRecord`). */
export function isCloneRecord(value: unknown): value is CloneRecord {
  if (!isPlainObject(value)) return false;
  const { id, instance, url, v, links, groups, add, del, base, gone, page } = value;
  return (
    isName(id) &&
    isName(instance) &&
    (url === null || (typeof url === 'string' && url.length <= 2048)) &&
    isVersion(v) &&
    isNameList(links) &&
    (groups === undefined || isUnboundedNameList(groups)) &&
    (add === undefined || isUnboundedNameList(add)) &&
    (del === undefined || isUnboundedNameList(del)) &&
    (base === undefined || isVersion(base)) &&
    (gone === undefined || typeof gone === 'boolean') &&
    (page === undefined || isPage(page))
  );
}

/** Most pages one clone record may be cut into. */
export const MAX_RECORD_PAGES = 65_536;

/** `[index, count]` of a record page. */
function isPage(value: unknown): boolean {
  if (!Array.isArray(value) || value.length !== 2) return false;
  const [index, count] = value as unknown[];
  return (
    Number.isSafeInteger(index) &&
    Number.isSafeInteger(count) &&
    (count as number) >= 1 &&
    (count as number) <= MAX_RECORD_PAGES &&
    (index as number) >= 0 &&
    (index as number) < (count as number)
  );
}

function isKnownClone(value: unknown): boolean {
  return (
    Array.isArray(value) &&
    isName(value[0]) &&
    (value[1] === null || (typeof value[1] === 'string' && value[1].length <= 2048))
  );
}

function isPositiveId(value: unknown): value is number {
  return isRequestId(value) && value > 0;
}

/** Checks a function description. */
export function isFunctionInfo(value: unknown): boolean {
  if (!isPlainObject(value)) return false;
  const { name, params, arity, maxArgs, kind } = value;
  return (
    isName(name) &&
    Array.isArray(params) &&
    params.every((param) => typeof param === 'string' && param.length <= MAX_NAME_LENGTH) &&
    isVersion(arity) &&
    (maxArgs === null || isVersion(maxArgs)) &&
    (kind === 'function' || kind === 'generator')
  );
}

function isTarget(value: unknown): boolean {
  return value === null || isName(value) || isNameList(value);
}

/**
 * Checks that a decoded value is a valid frame and returns it typed. Trailing array
 * elements beyond the known fields are ignored (room for later protocol versions).
 */
export function validateFrame(value: unknown): Frame {
  if (!Array.isArray(value) || value.length === 0) throw bad('A frame must be a non-empty array');
  const type: unknown = value[0];
  switch (type) {
    case FrameType.MESSAGE: {
      const id: unknown = value[1];
      if (!isRequestId(id)) throw bad('MESSAGE id must be a non-negative integer');
      if (!isOptionalName(value[2]) || !isOptionalName(value[3])) {
        throw bad('MESSAGE route and act must be strings or null', id);
      }
      if (value.length < 5) value[4] = null;
      return value as Frame;
    }
    case FrameType.REPLY: {
      if (!isRequestId(value[1]) || value[1] === 0)
        throw bad('REPLY id must be a positive integer');
      if (value.length < 3) value[2] = null;
      return value as Frame;
    }
    case FrameType.ERROR: {
      const id: unknown = value[1];
      if (!isRequestId(id)) throw bad('ERROR id must be a non-negative integer');
      checkWireError(value[2], id);
      return value as Frame;
    }
    case FrameType.SUBSCRIBE:
    case FrameType.UNSUBSCRIBE: {
      const id: unknown = value[1];
      if (!isRequestId(id)) throw bad('SUBSCRIBE/UNSUBSCRIBE id must be a non-negative integer');
      if (!isName(value[2])) throw bad('group id must be a non-empty string', id);
      if (type === FrameType.SUBSCRIBE) checkSubscribeOptions(value[3], id);
      return value as Frame;
    }
    case FrameType.PUBLISH: {
      const id: unknown = value[1];
      if (!isRequestId(id)) throw bad('PUBLISH id must be a non-negative integer');
      if (!isTarget(value[2])) throw bad('PUBLISH target must be a group id, ids or null', id);
      if (!isOptionalName(value[3]) || !isOptionalName(value[4])) {
        throw bad('PUBLISH route and act must be strings or null', id);
      }
      if (value.length < 6) value[5] = null;
      if (value[6] !== undefined && typeof value[6] !== 'boolean') {
        throw bad('PUBLISH notSendMe must be a boolean', id);
      }
      value[6] = value[6] === true;
      checkPublishAck(value[7], id);
      return value as Frame;
    }
    case FrameType.GROUP_MESSAGE: {
      if (!isTarget(value[1])) throw bad('GROUP_MESSAGE target must be a group id, ids or null');
      if (!isOptionalName(value[2]) || !isOptionalName(value[3])) {
        throw bad('GROUP_MESSAGE route and act must be strings or null');
      }
      if (value.length < 5) value[4] = null;
      return value as Frame;
    }
    case FrameType.HELLO:
      checkHello(value[1]);
      return value as Frame;
    case FrameType.WELCOME:
      checkWelcome(value[1]);
      return value as Frame;
    case FrameType.CHALLENGE:
      checkChallenge(value[1]);
      return value as Frame;
    case FrameType.AUTH:
      checkAuth(value[1]);
      return value as Frame;
    case FrameType.PING:
    case FrameType.PONG:
      return value as Frame;
    case FrameType.MEMBERSHIP:
      if (!isName(value[1]) || typeof value[2] !== 'boolean')
        throw bad('MEMBERSHIP needs a group id and a boolean');
      return value as Frame;
    case FrameType.CLONE_SYNC:
      if (!Array.isArray(value[1]) || !value[1].every(isCloneRecord))
        throw bad('CLONE_SYNC records invalid');
      if (!Array.isArray(value[2]) || !value[2].every(isKnownClone))
        throw bad('CLONE_SYNC known clones invalid');
      return value as Frame;
    case FrameType.CLONE_UPDATE:
      if (!isCloneRecord(value[1])) throw bad('CLONE_UPDATE record invalid');
      return value as Frame;
    case FrameType.CLONE_REQUEST:
      if (!isName(value[1])) throw bad('CLONE_REQUEST needs a clone id');
      return value as Frame;
    case FrameType.CLONE_DIGEST:
      if (
        !Array.isArray(value[1]) ||
        !value[1].every(
          (entry: unknown) => Array.isArray(entry) && isName(entry[0]) && isVersion(entry[1]),
        )
      ) {
        throw bad('CLONE_DIGEST entries must be [id, version]');
      }
      return value as Frame;
    case FrameType.CLONE_RELAY:
      if (!isName(value[1]) || !isVersion(value[2])) throw bad('CLONE_RELAY origin/seq invalid');
      if (!(value[3] === null || isNameList(value[3]))) throw bad('CLONE_RELAY dests invalid');
      if (!isTarget(value[4])) throw bad('CLONE_RELAY target invalid');
      if (!(value[5] instanceof Uint8Array)) throw bad('CLONE_RELAY payload must be bytes');
      checkRelayAckTo(value[6]);
      return value as Frame;
    case FrameType.CLONE_GROUP_DELETE:
      if (!isName(value[1]) || !isVersion(value[2]) || !isName(value[3])) {
        throw bad('CLONE_GROUP_DELETE needs origin, seq and group id');
      }
      return value as Frame;
    case FrameType.RPC_CALL:
    case FrameType.RPC_STREAM: {
      const id: unknown = value[1];
      if (!isPositiveId(id)) throw bad('RPC call id must be a positive integer');
      // Stream ids are not request ids: a stream's problems are answered on the stream.
      const fail = type === FrameType.RPC_STREAM ? badStream : bad;
      if (!isName(value[2]) || !isName(value[3]))
        throw fail('RPC namespace and name must be strings', id);
      if (!Array.isArray(value[4])) throw fail('RPC args must be an array', id);
      if (
        type === FrameType.RPC_STREAM &&
        !(isPositiveId(value[5]) && value[5] <= MAX_STREAM_CREDIT)
      ) {
        throw fail(`RPC_STREAM credit must be an integer from 1 to ${MAX_STREAM_CREDIT}`, id);
      }
      const hops: unknown = value[type === FrameType.RPC_STREAM ? 6 : 5];
      if (hops !== undefined && hops !== null && !(isVersion(hops) && hops <= 64)) {
        throw fail('RPC hops must be an integer from 0 to 64', id);
      }
      const timeout: unknown = type === FrameType.RPC_CALL ? value[6] : undefined;
      if (
        timeout !== undefined &&
        !(typeof timeout === 'number' && timeout > 0 && timeout <= 86_400_000)
      ) {
        throw bad('RPC_CALL timeout must be a positive number of ms', id);
      }
      return value as Frame;
    }
    case FrameType.RPC_CANCEL:
    case FrameType.RPC_STREAM_CANCEL:
      if (!isPositiveId(value[1]))
        throw bad('RPC_CANCEL/RPC_STREAM_CANCEL id must be a positive integer');
      return value as Frame;
    case FrameType.RPC_ITEMS:
      if (!isPositiveId(value[1]) || !Array.isArray(value[2]))
        throw bad('RPC_ITEMS needs a stream id and items');
      return value as Frame;
    case FrameType.RPC_END:
      if (!isPositiveId(value[1])) throw bad('RPC_END needs a stream id');
      if (value.length < 3) value[2] = null;
      return value as Frame;
    case FrameType.RPC_STREAM_ERROR:
      if (!isPositiveId(value[1])) throw bad('RPC_STREAM_ERROR needs a stream id');
      checkWireError(value[2], 0);
      return value as Frame;
    case FrameType.RPC_CREDIT:
      // A count above MAX_STREAM_CREDIT is well formed: the producer fails that stream.
      if (!isPositiveId(value[1]) || !isPositiveId(value[2])) {
        throw bad('RPC_CREDIT needs a stream id and a positive count');
      }
      return value as Frame;
    case FrameType.RPC_LIST:
      if (!isPositiveId(value[1])) throw bad('RPC_LIST id must be a positive integer');
      if (!isName(value[2])) throw bad('RPC_LIST namespace must be a string', value[1]);
      return value as Frame;
    case FrameType.LINK_ROUTES:
      if (
        !isName(value[1]) ||
        !Array.isArray(value[2]) ||
        !value[2].every(
          (route: unknown) =>
            Array.isArray(route) &&
            isName(route[0]) &&
            isFunctionInfo(route[1]) &&
            isNameList(route[2]) &&
            route[2].length <= 64,
        )
      ) {
        throw bad('LINK_ROUTES needs a namespace and [name, info, path] routes');
      }
      return value as Frame;
    case FrameType.RPC_FUNCTIONS:
      if (!isName(value[1]) || !Array.isArray(value[2]) || !value[2].every(isFunctionInfo)) {
        throw bad('RPC_FUNCTIONS needs a namespace and function descriptions');
      }
      return value as Frame;
    default: {
      const presence = validatePresenceFrame(value);
      if (presence !== undefined) return presence;
      // Only numbers are echoed: a peer's arbitrary value (huge string, deeply nested array)
      // must neither blow the stack in JSON.stringify nor be copied into the error reply.
      const shown =
        typeof type === 'number' ? String(type) : `(${type === null ? 'null' : typeof type})`;
      throw new ProtocolError(ErrorCode.UNKNOWN_FRAME, `Unknown frame type ${shown}`);
    }
  }
}
