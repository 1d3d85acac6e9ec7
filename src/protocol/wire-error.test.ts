import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  AbortError,
  AuthError,
  ConnectionClosedError,
  ErrorCode,
  NoRouteError,
  PayloadTooLargeError,
  ProtocolError,
  RemoteError,
  SerializationError,
  SlowConsumerError,
  TimeoutError,
  WsMeshError,
} from '../errors.js';
import { jsonCodec } from './codec.js';
import type { WireError } from './frames.js';
import { validateFrame } from './validate.js';
import { fromWireError, toWireError } from './wire-error.js';

class CustomError extends Error {
  code = 'E_CUSTOM';
  data = { detail: 42 };
  constructor(message: string) {
    super(message);
    this.name = 'CustomError';
  }
}

describe('toWireError', () => {
  test('user errors travel as ERR_REMOTE with name and message, never the stack', () => {
    const wire = toWireError(new TypeError('bad type'), 'server-1');
    assert.deepEqual(wire, {
      code: ErrorCode.REMOTE,
      message: 'bad type',
      name: 'TypeError',
      origin: 'server-1',
    });
    assert.equal(JSON.stringify(wire).includes('at '), false);
  });

  test('a string code and data of a user error are kept', () => {
    assert.deepEqual(toWireError(new CustomError('custom')), {
      code: ErrorCode.REMOTE,
      message: 'custom',
      name: 'CustomError',
      remoteCode: 'E_CUSTOM',
      data: { detail: 42 },
    });
    const numeric = Object.assign(new Error('n'), { code: 5 });
    assert.equal(toWireError(numeric).remoteCode, undefined);
  });

  test('non-error values', () => {
    assert.deepEqual(toWireError('plain string'), {
      code: ErrorCode.REMOTE,
      message: 'plain string',
      name: 'string',
    });
    assert.deepEqual(toWireError(42, 'o'), {
      code: ErrorCode.REMOTE,
      message: 'Non-error value thrown',
      name: 'number',
      origin: 'o',
    });
    assert.equal(toWireError(undefined).name, 'undefined');
    assert.equal(toWireError(null).name, 'object');
    assert.equal(toWireError({ message: 'fake' }).message, 'Non-error value thrown');
  });

  test('wsmesh errors keep their code and data', () => {
    assert.deepEqual(toWireError(new NoRouteError('none', { route: 'r', act: null }), 's'), {
      code: ErrorCode.NO_ROUTE,
      message: 'none',
      origin: 's',
      data: { route: 'r', act: null },
    });
    assert.deepEqual(toWireError(new ProtocolError(ErrorCode.BAD_FRAME, 'bad', { id: 3 })), {
      code: ErrorCode.BAD_FRAME,
      message: 'bad',
      data: { id: 3 },
    });
    assert.equal(toWireError(new SlowConsumerError()).code, ErrorCode.SLOW_CONSUMER);
  });

  test('a forwarded RemoteError keeps the node where it was raised', () => {
    const remote = new RemoteError('deep failure', {
      remoteName: 'RangeError',
      remoteCode: 'E_DEEP',
      origin: 'node-a',
      data: [1],
    });
    assert.deepEqual(toWireError(remote, 'node-b'), {
      code: ErrorCode.REMOTE,
      message: 'deep failure',
      name: 'RangeError',
      remoteCode: 'E_DEEP',
      origin: 'node-a',
      data: [1],
    });
    const anonymous = new RemoteError('x', { remoteName: 'Error' });
    assert.equal(toWireError(anonymous, 'node-b').origin, 'node-b');
    assert.equal('remoteCode' in toWireError(anonymous), false);
  });

  test('the result is a valid ERROR frame body in JSON', () => {
    for (const error of [new Error('e'), 'text', new TimeoutError(), new CustomError('c')]) {
      const frame = validateFrame(jsonCodec.decode(jsonCodec.encode([4, 1, toWireError(error)])));
      assert.equal(frame[0], 4);
    }
  });
});

describe('fromWireError', () => {
  test('known codes map to their classes', () => {
    const cases: [string, new (...args: never[]) => WsMeshError][] = [
      [ErrorCode.NO_ROUTE, NoRouteError],
      [ErrorCode.TIMEOUT, TimeoutError],
      [ErrorCode.AUTH, AuthError],
      [ErrorCode.ABORTED, AbortError],
      [ErrorCode.PAYLOAD_TOO_LARGE, PayloadTooLargeError],
      [ErrorCode.SERIALIZE, SerializationError],
      [ErrorCode.CONNECTION_CLOSED, ConnectionClosedError],
      [ErrorCode.BAD_FRAME, ProtocolError],
      [ErrorCode.UNKNOWN_FRAME, ProtocolError],
      [ErrorCode.PROTOCOL, ProtocolError],
    ];
    for (const [code, ErrorClass] of cases) {
      const error = fromWireError({ code, message: `m-${code}`, data: { k: code } });
      assert.ok(error instanceof ErrorClass, code);
      assert.ok(error instanceof WsMeshError);
      assert.equal(error.code, code);
      assert.equal(error.message, `m-${code}`);
      assert.deepEqual(error.data, { k: code });
    }
  });

  test('ERR_REMOTE becomes a RemoteError with remote name, code and origin', () => {
    const error = fromWireError({
      code: ErrorCode.REMOTE,
      message: 'boom',
      name: 'TypeError',
      remoteCode: 'E_X',
      origin: 'srv',
      data: { a: 1 },
    });
    assert.ok(error instanceof RemoteError);
    assert.equal(error.code, ErrorCode.REMOTE);
    assert.equal(error.remoteName, 'TypeError');
    assert.equal(error.remoteCode, 'E_X');
    assert.equal(error.origin, 'srv');
    assert.deepEqual(error.data, { a: 1 });
  });

  test('ERR_REMOTE with missing or mistyped fields gets safe defaults', () => {
    const wire = { code: ErrorCode.REMOTE, message: 'm', name: 5, remoteCode: {}, origin: [] };
    const error = fromWireError(wire as unknown as WireError);
    assert.ok(error instanceof RemoteError);
    assert.equal(error.remoteName, 'Error');
    assert.equal(error.remoteCode, undefined);
    assert.equal(error.origin, undefined);
  });

  test('unknown codes become a plain WsMeshError ERR_UNKNOWN, the code kept in data', () => {
    const error = fromWireError({ code: 'ERR_SOMETHING_NEW', message: 'later version', data: 1 });
    assert.equal(error.constructor, WsMeshError);
    assert.equal(error.code, 'ERR_UNKNOWN');
    assert.deepEqual(error.data, { code: 'ERR_SOMETHING_NEW', data: 1 });
    assert.equal(error.name, 'WsMeshError');
    // A code of the registry that has no class of its own keeps its code.
    assert.equal(fromWireError({ code: 'ERR_LIMIT', message: 'x' }).code, 'ERR_LIMIT');
  });

  test('round trip through the wire keeps what matters', () => {
    const thrown = new CustomError('custom failure');
    const decoded = jsonCodec.decode(jsonCodec.encode([4, 1, toWireError(thrown, 'origin-1')]));
    const frame = validateFrame(decoded);
    assert.equal(frame[0], 4);
    const back = fromWireError(frame[2] as WireError);
    assert.ok(back instanceof RemoteError);
    assert.equal(back.message, 'custom failure');
    assert.equal(back.remoteName, 'CustomError');
    assert.equal(back.remoteCode, 'E_CUSTOM');
    assert.equal(back.origin, 'origin-1');
    assert.deepEqual(back.data, { detail: 42 });
    const timeout = fromWireError(toWireError(new TimeoutError('slow')));
    assert.ok(timeout instanceof TimeoutError);
    assert.equal(timeout.message, 'slow');
  });
});
