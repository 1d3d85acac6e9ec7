import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ErrorCode, ProtocolError } from '../errors.js';
import { FrameType } from './frames.js';
import { MAX_NAME_LENGTH, MAX_TARGET_GROUPS, isName, validateFrame } from './validate.js';

/** Asserts that `validateFrame(value)` throws a ProtocolError with `code` (and `data.id`). */
function rejects(value: unknown, code: string, id?: number): ProtocolError {
  let caught: unknown;
  try {
    validateFrame(value);
  } catch (error) {
    caught = error;
  }
  assert.ok(
    caught instanceof ProtocolError,
    `expected a ProtocolError for ${describeValue(value)}`,
  );
  assert.equal(caught.code, code, `code for ${describeValue(value)}`);
  const data = caught.data as { id?: unknown } | undefined;
  assert.equal(data?.id, id, `data.id for ${describeValue(value)}`);
  return caught;
}

function describeValue(value: unknown): string {
  try {
    return String(JSON.stringify(value)).slice(0, 80);
  } catch {
    return `<${typeof value}>`;
  }
}

const longName = 'r'.repeat(MAX_NAME_LENGTH + 1);

describe('isName', () => {
  test('accepts non-empty strings up to MAX_NAME_LENGTH', () => {
    assert.equal(isName('a'), true);
    assert.equal(isName('x'.repeat(MAX_NAME_LENGTH)), true);
    assert.equal(isName('__proto__'), true);
  });

  test('rejects empty, too long and non-strings', () => {
    for (const value of ['', longName, null, undefined, 1, {}, [], ['a']]) {
      assert.equal(isName(value), false, describeValue(value));
    }
  });
});

describe('validateFrame: shape', () => {
  test('non-arrays and empty arrays are ERR_BAD_FRAME without id', () => {
    for (const value of [null, undefined, 'hello', 42, true, {}, { 0: 2 }, []]) {
      rejects(value, ErrorCode.BAD_FRAME);
    }
  });

  test('unknown frame types are ERR_UNKNOWN_FRAME', () => {
    for (const value of [[999], [-1, 1], ['2', 1, null, null, null], [null], [2.5], [{}]]) {
      rejects(value, ErrorCode.UNKNOWN_FRAME);
    }
  });

  test('an unknown type that is a huge or deeply nested value gives a short message', () => {
    let deep: unknown = [];
    for (let level = 0; level < 100_000; level++) deep = [deep];
    const error = rejects([deep], ErrorCode.UNKNOWN_FRAME);
    assert.ok(error.message.length < 200, `message of ${error.message.length} chars`);
    const huge = rejects(['x'.repeat(100_000)], ErrorCode.UNKNOWN_FRAME);
    assert.ok(huge.message.length < 200, `message of ${huge.message.length} chars`);
  });

  test('trailing elements beyond the known fields are accepted and left out', () => {
    const frame = validateFrame([FrameType.REPLY, 3, 'data', 'extra', { more: true }]);
    assert.deepEqual(frame, [FrameType.REPLY, 3, 'data']);
  });
});

describe('validateFrame: MESSAGE', () => {
  test('valid messages pass and missing data becomes null', () => {
    assert.deepEqual(validateFrame([2, 0, 'r', 'a', { x: 1 }]), [2, 0, 'r', 'a', { x: 1 }]);
    assert.deepEqual(validateFrame([2, 5, null, null]), [2, 5, null, null, null]);
    assert.deepEqual(validateFrame([2, 7, 'r', null, null]), [2, 7, 'r', null, null]);
    assert.deepEqual(validateFrame([2, Number.MAX_SAFE_INTEGER, null, 'act', [1]]), [
      2,
      Number.MAX_SAFE_INTEGER,
      null,
      'act',
      [1],
    ]);
  });

  test('a bad id is ERR_BAD_FRAME without id', () => {
    for (const id of [-1, 1.5, '1', null, undefined, Number.MAX_SAFE_INTEGER + 1, NaN, Infinity]) {
      rejects([2, id, null, null, null], ErrorCode.BAD_FRAME);
    }
  });

  test('a bad route or act is ERR_BAD_FRAME carrying the request id', () => {
    rejects([2, 9, 123, null, null], ErrorCode.BAD_FRAME, 9);
    rejects([2, 9, null, {}, null], ErrorCode.BAD_FRAME, 9);
    rejects([2, 9, '', null, null], ErrorCode.BAD_FRAME, 9);
    rejects([2, 9, longName, null, null], ErrorCode.BAD_FRAME, 9);
    rejects([2, 9, 'r', ['a'], null], ErrorCode.BAD_FRAME, 9);
    rejects([2, 0, undefined, null, null], ErrorCode.BAD_FRAME, 0);
  });
});

describe('validateFrame: REPLY and ERROR', () => {
  test('REPLY needs a positive id; missing data becomes null', () => {
    assert.deepEqual(validateFrame([3, 1]), [3, 1, null]);
    assert.deepEqual(validateFrame([3, 2, { ok: true }]), [3, 2, { ok: true }]);
    for (const id of [0, -1, 1.5, 'x', null]) rejects([3, id, null], ErrorCode.BAD_FRAME);
  });

  test('ERROR needs an id and a body with string code and message', () => {
    const body = { code: 'ERR_X', message: 'boom' };
    assert.deepEqual(validateFrame([4, 0, body]), [4, 0, body]);
    assert.deepEqual(validateFrame([4, 12, { ...body, data: [1] }]), [
      4,
      12,
      { ...body, data: [1] },
    ]);
    rejects([4, -1, body], ErrorCode.BAD_FRAME);
    rejects([4, 3], ErrorCode.BAD_FRAME, 3);
    rejects([4, 3, null], ErrorCode.BAD_FRAME, 3);
    rejects([4, 3, ['ERR_X', 'boom']], ErrorCode.BAD_FRAME, 3);
    rejects([4, 3, { code: 1, message: 'boom' }], ErrorCode.BAD_FRAME, 3);
    rejects([4, 3, { code: 'ERR_X' }], ErrorCode.BAD_FRAME, 3);
  });
});

describe('validateFrame: groups', () => {
  test('SUBSCRIBE / UNSUBSCRIBE need a group id', () => {
    assert.deepEqual(validateFrame([5, 1, 'g']), [5, 1, 'g']);
    assert.deepEqual(validateFrame([6, 0, 'g']), [6, 0, 'g']);
    rejects([5, 'x', 'g'], ErrorCode.BAD_FRAME);
    rejects([5, 4, ''], ErrorCode.BAD_FRAME, 4);
    rejects([6, 4, null], ErrorCode.BAD_FRAME, 4);
    rejects([6, 4, ['g']], ErrorCode.BAD_FRAME, 4);
  });

  test('PUBLISH: targets, defaults and notSendMe', () => {
    assert.deepEqual(validateFrame([7, 0, 'g', null, null]), [7, 0, 'g', null, null, null, false]);
    assert.deepEqual(validateFrame([7, 2, ['a', 'b'], 'r', 'a', 1, true]), [
      7,
      2,
      ['a', 'b'],
      'r',
      'a',
      1,
      true,
    ]);
    assert.deepEqual(validateFrame([7, 3, null, null, null, 'd']), [
      7,
      3,
      null,
      null,
      null,
      'd',
      false,
    ]);
    rejects([7, 1.5, 'g', null, null], ErrorCode.BAD_FRAME);
    rejects([7, 3, 5, null, null], ErrorCode.BAD_FRAME, 3);
    rejects([7, 3, ['a', ''], null, null], ErrorCode.BAD_FRAME, 3);
    rejects([7, 3, 'g', 1, null], ErrorCode.BAD_FRAME, 3);
    rejects([7, 3, 'g', null, null, null, 'yes'], ErrorCode.BAD_FRAME, 3);
    const tooMany = Array.from({ length: MAX_TARGET_GROUPS + 1 }, (_, index) => `g${index}`);
    rejects([7, 3, tooMany, null, null], ErrorCode.BAD_FRAME, 3);
  });

  test('GROUP_MESSAGE: target, route, act, default data', () => {
    assert.deepEqual(validateFrame([8, 'g', 'r', null]), [8, 'g', 'r', null, null]);
    assert.deepEqual(validateFrame([8, null, null, null, { a: 1 }]), [
      8,
      null,
      null,
      null,
      { a: 1 },
    ]);
    rejects([8, 1, null, null], ErrorCode.BAD_FRAME);
    rejects([8, 'g', 1, null], ErrorCode.BAD_FRAME);
  });
});

describe('validateFrame: handshake and heartbeats', () => {
  test('HELLO body checks', () => {
    const hello = { v: 1, id: 'c1' };
    assert.deepEqual(validateFrame([0, hello]), [0, hello]);
    assert.deepEqual(validateFrame([0, { ...hello, kind: 'clone', maxPayload: 1024 }]), [
      0,
      { ...hello, kind: 'clone', maxPayload: 1024 },
    ]);
    // Another version is well-formed; refusing it is the server's decision.
    assert.doesNotThrow(() => validateFrame([0, { v: 3, id: 'c1' }]));
    assert.doesNotThrow(() =>
      validateFrame([0, { ...hello, challenge: 'abcdefghijklmnop', enc: 'aes-256-gcm' }]),
    );
    const bad: unknown[] = [
      undefined,
      null,
      'hello',
      [1, 'c1'],
      { id: 'c1' },
      { v: 0, id: 'c1' },
      { v: 1.5, id: 'c1' },
      { v: '1', id: 'c1' },
      { v: 1 },
      { v: 1, id: '' },
      { v: 1, id: longName },
      { v: 1, id: 'c1', kind: 'admin' },
      { v: 1, id: 'c1', kind: 1 },
      { v: 1, id: 'c1', maxPayload: 0 },
      { v: 1, id: 'c1', maxPayload: -5 },
      { v: 1, id: 'c1', maxPayload: '1' },
      { v: 1, id: 'c1', maxPayload: NaN },
      { v: 1, id: 'c1', challenge: 'short' },
      { v: 1, id: 'c1', challenge: 'not base64url!!!!!!!' },
      { v: 1, id: 'c1', enc: 'aes-256-gcm' },
    ];
    // PROTOCOL.md 2.1: a bad handshake body is ERR_PROTOCOL (then close 4001).
    for (const body of bad) rejects([0, body], ErrorCode.PROTOCOL);
  });

  test('WELCOME body checks', () => {
    const welcome = { v: 1, serverId: 's', connectionId: 'c', maxPayload: 10 };
    assert.deepEqual(validateFrame([1, welcome]), [1, welcome]);
    rejects([1, null], ErrorCode.PROTOCOL);
    rejects([1, { ...welcome, v: '1' }], ErrorCode.PROTOCOL);
    rejects([1, { ...welcome, serverId: '' }], ErrorCode.PROTOCOL);
    rejects([1, { ...welcome, connectionId: 3 }], ErrorCode.PROTOCOL);
    rejects([1, { ...welcome, maxPayload: 0 }], ErrorCode.PROTOCOL);
  });

  test('CHALLENGE and AUTH body checks', () => {
    const challenge = { serverId: 's', nonce: 'abcdefghijklmnop' };
    assert.deepEqual(validateFrame([12, challenge]), [12, challenge]);
    assert.deepEqual(validateFrame([12, { ...challenge, proof: 'p' }]), [
      12,
      { ...challenge, proof: 'p' },
    ]);
    rejects([12, null], ErrorCode.PROTOCOL);
    rejects([12, { ...challenge, serverId: '' }], ErrorCode.PROTOCOL);
    rejects([12, { ...challenge, nonce: 'short' }], ErrorCode.PROTOCOL);
    rejects([12, { ...challenge, proof: 5 }], ErrorCode.PROTOCOL);
    assert.deepEqual(validateFrame([13, {}]), [13, {}]);
    assert.deepEqual(validateFrame([13, { proof: 'p', authValue: { any: 1 } }]), [
      13,
      { proof: 'p', authValue: { any: 1 } },
    ]);
    rejects([13, 'token'], ErrorCode.PROTOCOL);
    rejects([13, { proof: 1 }], ErrorCode.PROTOCOL);
  });

  test('PING and PONG need no fields', () => {
    assert.deepEqual(validateFrame([9]), [9]);
    assert.deepEqual(validateFrame([10]), [10]);
  });
});

describe('validateFrame: CLONE_DIGEST', () => {
  test('the full form keeps its entries; the compact form needs a count and a 16-hex hash', () => {
    assert.deepEqual(validateFrame([FrameType.CLONE_DIGEST, [['b', 3]]]), [
      FrameType.CLONE_DIGEST,
      [['b', 3]],
    ]);
    const hash = '0123456789abcdef';
    assert.deepEqual(validateFrame([FrameType.CLONE_DIGEST, [], 4, hash]), [
      FrameType.CLONE_DIGEST,
      [],
      4,
      hash,
    ]);
    for (const [count, bad] of [
      [4, '0123456789ABCDEF'],
      [4, 'abc'],
      [-1, hash],
      [4, undefined],
      [undefined, hash],
    ] as const) {
      rejects([FrameType.CLONE_DIGEST, [], count, bad], ErrorCode.BAD_FRAME);
    }
  });
});
