/**
 * Readers of the structured parts of frames: handshake bodies, error objects, clone records
 * and function descriptions. Each checks a decoded value and returns a new, typed value made
 * of the checked fields only.
 * @module
 */
import {
  badHandshake,
  isCount,
  isName,
  isNameList,
  isNonce,
  isPlainObject,
  isUnboundedNameList,
  isUrl,
  MAX_NAME_LENGTH,
  MAX_RECORD_PAGES,
} from './checks.js';
import type {
  AuthBody,
  ChallengeBody,
  CloneRecord,
  FunctionInfo,
  HelloBody,
  PeerKind,
  WelcomeBody,
  WireError,
} from './frames.js';

function isPeerKind(value: unknown): value is PeerKind {
  return value === 'client' || value === 'clone' || value === 'link' || value === 'rpc';
}

function optionalString(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

/** Reads a HELLO body; throws ERR_PROTOCOL when it breaks the rules. */
export function readHello(body: unknown): HelloBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('HELLO body must be an object');
  const { v, id, kind, maxPayload, instance, namespace, challenge, enc, batch, pack } = body;
  if (namespace !== undefined && !isName(namespace)) throw bad('HELLO.namespace must be a string');
  if (enc !== undefined && enc !== 'aes-256-gcm') throw bad('HELLO.enc must be aes-256-gcm');
  if (instance !== undefined && !isName(instance)) throw bad('HELLO.instance must be a string');
  if (batch !== undefined && typeof batch !== 'boolean') throw bad('HELLO.batch must be a boolean');
  if (pack !== undefined && typeof pack !== 'boolean') throw bad('HELLO.pack must be a boolean');
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw bad('HELLO.v must be a version');
  if (!isName(id)) throw bad('HELLO.id must be a non-empty string');
  if (kind !== undefined && !isPeerKind(kind)) {
    throw bad('HELLO.kind must be client, clone, link or rpc');
  }
  if (maxPayload !== undefined && !(typeof maxPayload === 'number' && maxPayload > 0)) {
    throw bad('HELLO.maxPayload must be a positive number');
  }
  if (challenge !== undefined && !isNonce(challenge)) {
    throw bad('HELLO.challenge must be 16-128 base64url characters');
  }
  if (enc !== undefined && challenge === undefined) {
    throw bad('HELLO.enc needs HELLO.challenge (encryption is keyed by the secret proof)');
  }
  const hello: HelloBody = { v, id };
  if (kind !== undefined) hello.kind = kind;
  if (maxPayload !== undefined) hello.maxPayload = maxPayload;
  if (challenge !== undefined) hello.challenge = challenge;
  if (instance !== undefined) hello.instance = instance;
  if (namespace !== undefined) hello.namespace = namespace;
  if (body.credentials !== undefined) hello.credentials = body.credentials;
  if (enc !== undefined) hello.enc = enc;
  if (batch !== undefined) hello.batch = batch;
  if (pack !== undefined) hello.pack = pack;
  return hello;
}

/** Reads a WELCOME body; throws ERR_PROTOCOL when it breaks the rules. */
export function readWelcome(body: unknown): WelcomeBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('WELCOME body must be an object');
  const { v, serverId, connectionId, maxPayload, enc, batch, pack, recovery } = body;
  if (typeof v !== 'number') throw bad('WELCOME.v must be a version');
  if (batch !== undefined && typeof batch !== 'boolean')
    throw bad('WELCOME.batch must be a boolean');
  if (pack !== undefined && typeof pack !== 'boolean') throw bad('WELCOME.pack must be a boolean');
  if (recovery !== undefined && typeof recovery !== 'boolean')
    throw bad('WELCOME.recovery must be a boolean');
  if (!isName(serverId) || !isName(connectionId)) throw bad('WELCOME ids must be strings');
  if (typeof maxPayload !== 'number' || maxPayload <= 0) throw bad('WELCOME.maxPayload invalid');
  const welcome: WelcomeBody = { v, serverId, connectionId, maxPayload };
  // The dialing side checks it against what it asked for; a non-string names no scheme.
  if (typeof enc === 'string') welcome.enc = enc;
  if (batch !== undefined) welcome.batch = batch;
  if (pack !== undefined) welcome.pack = pack;
  if (recovery !== undefined) welcome.recovery = recovery;
  return welcome;
}

/** Reads a CHALLENGE body; throws ERR_PROTOCOL when it breaks the rules. */
export function readChallenge(body: unknown): ChallengeBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('CHALLENGE body must be an object');
  const { serverId, nonce, proof } = body;
  if (!isName(serverId)) throw bad('CHALLENGE.serverId must be a string');
  if (!isNonce(nonce)) throw bad('CHALLENGE.nonce must be 16-128 base64url characters');
  if (proof !== undefined && typeof proof !== 'string')
    throw bad('CHALLENGE.proof must be a string');
  const challenge: ChallengeBody = { serverId, nonce };
  if (proof !== undefined) challenge.proof = proof;
  return challenge;
}

/** Reads an AUTH body; throws ERR_PROTOCOL when it breaks the rules. */
export function readAuth(body: unknown): AuthBody {
  const bad = badHandshake;
  if (!isPlainObject(body)) throw bad('AUTH body must be an object');
  const { proof, authValue, credentials } = body;
  if (proof !== undefined && typeof proof !== 'string') throw bad('AUTH.proof must be a string');
  const auth: AuthBody = {};
  if (proof !== undefined) auth.proof = proof;
  if (authValue !== undefined) auth.authValue = authValue;
  if (credentials !== undefined) auth.credentials = credentials;
  return auth;
}

/**
 * Reads the error object of ERROR and RPC_STREAM_ERROR: undefined when it has no string
 * `code` and `message`. Optional fields of the wrong type are left out.
 */
export function readWireError(value: unknown): WireError | undefined {
  if (!isPlainObject(value)) return undefined;
  const { code, message, name, remoteCode, origin, data } = value;
  if (typeof code !== 'string' || typeof message !== 'string') return undefined;
  const wire: WireError = { code, message };
  const remoteName = optionalString(name);
  if (remoteName !== undefined) wire.name = remoteName;
  const remote = optionalString(remoteCode);
  if (remote !== undefined) wire.remoteCode = remote;
  const from = optionalString(origin);
  if (from !== undefined) wire.origin = from;
  if (data !== undefined) wire.data = data;
  return wire;
}

/** `[index, count]` of a record page, or undefined. */
function readPage(value: unknown): [number, number] | undefined {
  if (!Array.isArray(value) || value.length !== 2) return undefined;
  const index: unknown = value[0];
  const count: unknown = value[1];
  if (!isCount(index) || !isCount(count)) return undefined;
  if (count < 1 || count > MAX_RECORD_PAGES || index >= count) return undefined;
  return [index, count];
}

/** Reads a clone record (see `CloneRecord`): undefined when it is not one. */
export function readCloneRecord(value: unknown): CloneRecord | undefined {
  if (!isPlainObject(value)) return undefined;
  const { id, instance, url, v, links, groups, add, del, base, gone } = value;
  if (!isName(id) || !isName(instance) || !isUrl(url) || !isCount(v) || !isNameList(links)) {
    return undefined;
  }
  const record: CloneRecord = { id, instance, url, v, links };
  if (groups !== undefined) {
    if (!isUnboundedNameList(groups)) return undefined;
    record.groups = groups;
  }
  if (add !== undefined) {
    if (!isUnboundedNameList(add)) return undefined;
    record.add = add;
  }
  if (del !== undefined) {
    if (!isUnboundedNameList(del)) return undefined;
    record.del = del;
  }
  if (base !== undefined) {
    if (!isCount(base)) return undefined;
    record.base = base;
  }
  if (gone !== undefined) {
    if (typeof gone !== 'boolean') return undefined;
    record.gone = gone;
  }
  if (value.page !== undefined) {
    const page = readPage(value.page);
    if (page === undefined) return undefined;
    record.page = page;
  }
  return record;
}

/** True for a clone record (see `CloneRecord`). */
export function isCloneRecord(value: unknown): value is CloneRecord {
  return readCloneRecord(value) !== undefined;
}

/** Reads a function description: undefined when it is not one. */
export function readFunctionInfo(value: unknown): FunctionInfo | undefined {
  if (!isPlainObject(value)) return undefined;
  const { name, params, arity, maxArgs, kind } = value;
  if (
    !isName(name) ||
    !Array.isArray(params) ||
    !params.every(
      (param): param is string => typeof param === 'string' && param.length <= MAX_NAME_LENGTH,
    ) ||
    !isCount(arity) ||
    !(maxArgs === null || isCount(maxArgs)) ||
    !(kind === 'function' || kind === 'generator')
  ) {
    return undefined;
  }
  return { name, params, arity, maxArgs, kind };
}

/** True for a function description. */
export function isFunctionInfo(value: unknown): value is FunctionInfo {
  return readFunctionInfo(value) !== undefined;
}
