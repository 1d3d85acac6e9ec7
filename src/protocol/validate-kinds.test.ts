/**
 * Every kind of frame through `validateFrame`: a well-formed input comes back as a new,
 * typed frame of its kind, with every field it carried. The table is typed per frame type and
 * each expected frame is {@link Complete}: every optional element and field present. So a frame
 * type without a sample, or a frame (or body, record, error) that gains a field, does not
 * compile here until its sample carries the new field, and the test then fails while its
 * reader leaves that field out.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameType, type Frame, type FrameOf } from './frames.js';
import { validateFrame } from './validate.js';

/** `T` with every optional tuple element and object field required, all the way down. */
type Complete<T> = T extends Uint8Array
  ? T
  : T extends readonly unknown[]
    ? { -readonly [K in keyof T]-?: Complete<T[K]> }
    : T extends object
      ? { [K in keyof T]-?: Complete<T[K]> }
      : T;

interface Sample<T extends Frame[0]> {
  /** What validation hands on, every optional field present. */
  expected: Complete<FrameOf<T>>;
  /** What a peer sends, when it is more than `expected` (unknown fields, left out). */
  input?: unknown[];
}

const record = {
  id: 'b',
  instance: 'i-b',
  url: 'ws://b',
  v: 3,
  links: ['a'],
  groups: ['g'],
  add: ['h'],
  del: ['k'],
  base: 2,
  gone: false,
  page: [0, 2] as [number, number],
};
const info = {
  name: 'add',
  params: ['a', 'b'],
  arity: 2,
  maxArgs: 2,
  kind: 'function' as const,
};
const wire = {
  code: 'ERR_REMOTE',
  message: 'boom',
  name: 'TypeError',
  remoteCode: 'E_X',
  origin: 'srv',
  data: { at: 1 },
};
const nonce = 'n'.repeat(24);
const hello = {
  v: 2,
  id: 'c1',
  kind: 'client' as const,
  maxPayload: 1024,
  challenge: nonce,
  instance: 'i-1',
  namespace: 'ns',
  credentials: { token: 't' },
  enc: 'aes-256-gcm',
  batch: true,
  pack: true,
};

const samples: { [T in Frame[0]]: Sample<T> } = {
  [FrameType.HELLO]: {
    expected: [FrameType.HELLO, hello],
    input: [FrameType.HELLO, { ...hello, extra: 'left out' }, 'trailing'],
  },
  [FrameType.WELCOME]: {
    expected: [
      FrameType.WELCOME,
      {
        v: 2,
        serverId: 's',
        connectionId: 'k',
        maxPayload: 1024,
        enc: 'aes-256-gcm',
        batch: true,
        pack: true,
        recovery: true,
      },
    ],
  },
  [FrameType.CHALLENGE]: {
    expected: [FrameType.CHALLENGE, { serverId: 's', nonce, proof: 'p' }],
  },
  [FrameType.AUTH]: {
    expected: [FrameType.AUTH, { proof: 'p', authValue: 42, credentials: { token: 't' } }],
  },
  [FrameType.MESSAGE]: { expected: [FrameType.MESSAGE, 4, 'chat', 'say', { text: 'hi' }] },
  [FrameType.REPLY]: { expected: [FrameType.REPLY, 4, { ok: true }] },
  [FrameType.ERROR]: {
    expected: [FrameType.ERROR, 4, wire],
    input: [FrameType.ERROR, 4, { ...wire, extra: 'left out' }],
  },
  [FrameType.SUBSCRIBE]: {
    expected: [FrameType.SUBSCRIBE, 1, 'g', { presence: true, data: { name: 'ann' } }],
  },
  [FrameType.UNSUBSCRIBE]: { expected: [FrameType.UNSUBSCRIBE, 1, 'g'] },
  [FrameType.PUBLISH]: {
    expected: [FrameType.PUBLISH, 3, ['g', 'h'], 'r', 'a', [1], true, 'cluster'],
  },
  [FrameType.GROUP_MESSAGE]: {
    expected: [FrameType.GROUP_MESSAGE, 'g', 'r', null, 1, ['s-1', 4]],
  },
  [FrameType.GROUP_MESSAGES]: {
    expected: [FrameType.GROUP_MESSAGES, ['g', 'h'], 'r', null, [1, { a: 2 }, null]],
  },
  [FrameType.SUBSCRIBE_SINCE]: {
    expected: [
      FrameType.SUBSCRIBE_SINCE,
      1,
      'g',
      { s: { 's-1': 4 }, t: 1000 },
      { presence: true, data: { name: 'ann' } },
    ],
    input: [
      FrameType.SUBSCRIBE_SINCE,
      1,
      'g',
      { s: { 's-1': 4 }, t: 1000, extra: 1 },
      { presence: true, data: { name: 'ann' } },
    ],
  },
  [FrameType.RECOVER]: { expected: [FrameType.RECOVER, 'g', true, { s: { 's-1': 4 }, t: 1000 }] },
  [FrameType.HISTORY_REQUEST]: {
    expected: [FrameType.HISTORY_REQUEST, 2, 'g', { s: { 's-1': 4 }, t: 1000 }],
  },
  [FrameType.HISTORY_PAGE]: {
    expected: [
      FrameType.HISTORY_PAGE,
      2,
      [['s-1', 5, 1001, 'g', new Uint8Array([1])]],
      [['s-1', 5, 0, 0, 4]],
      true,
    ],
  },
  [FrameType.PING]: { expected: [FrameType.PING] },
  [FrameType.PONG]: { expected: [FrameType.PONG] },
  [FrameType.MEMBERSHIP]: { expected: [FrameType.MEMBERSHIP, 'g', true] },
  [FrameType.CLONE_SYNC]: {
    expected: [FrameType.CLONE_SYNC, [record], [['c', null]]],
    input: [FrameType.CLONE_SYNC, [{ ...record, extra: 'left out' }], [['c', null]]],
  },
  [FrameType.CLONE_UPDATE]: { expected: [FrameType.CLONE_UPDATE, record] },
  [FrameType.CLONE_REQUEST]: { expected: [FrameType.CLONE_REQUEST, 'b'] },
  [FrameType.CLONE_DIGEST]: {
    // The compact form (count and hash); a list beside it is not read.
    expected: [FrameType.CLONE_DIGEST, [], 2, '0123456789abcdef'],
    input: [FrameType.CLONE_DIGEST, [['b', 3]], 2, '0123456789abcdef'],
  },
  [FrameType.CLONE_RELAY]: {
    expected: [FrameType.CLONE_RELAY, 'i-a', 9, ['c'], 'g', new Uint8Array([1, 2]), 'a'],
  },
  [FrameType.CLONE_GROUP_DELETE]: { expected: [FrameType.CLONE_GROUP_DELETE, 'i-a', 10, 'g'] },
  [FrameType.RPC_CALL]: { expected: [FrameType.RPC_CALL, 1, 'ns', 'add', [1, 2], 3, 500] },
  [FrameType.RPC_CANCEL]: { expected: [FrameType.RPC_CANCEL, 1] },
  [FrameType.RPC_STREAM]: { expected: [FrameType.RPC_STREAM, 2, 'ns', 'count', [3], 16, 4] },
  [FrameType.RPC_ITEMS]: { expected: [FrameType.RPC_ITEMS, 2, [1, 2]] },
  [FrameType.RPC_END]: { expected: [FrameType.RPC_END, 2, 'done'] },
  [FrameType.RPC_STREAM_ERROR]: { expected: [FrameType.RPC_STREAM_ERROR, 2, wire] },
  [FrameType.RPC_CREDIT]: { expected: [FrameType.RPC_CREDIT, 2, 8] },
  [FrameType.RPC_STREAM_CANCEL]: { expected: [FrameType.RPC_STREAM_CANCEL, 2] },
  [FrameType.RPC_LIST]: { expected: [FrameType.RPC_LIST, 5, 'ns'] },
  [FrameType.RPC_FUNCTIONS]: {
    expected: [FrameType.RPC_FUNCTIONS, 'ns', [info]],
    input: [FrameType.RPC_FUNCTIONS, 'ns', [{ ...info, extra: 'left out' }]],
  },
  [FrameType.PRESENCE]: { expected: [FrameType.PRESENCE, 4, 'g', true] },
  [FrameType.PRESENCE_EVENT]: {
    expected: [FrameType.PRESENCE_EVENT, 'g', true, 'client-1', { name: 'ann' }, 'a'],
  },
  [FrameType.CLONE_ACK]: { expected: [FrameType.CLONE_ACK, 'a', 'b', 7] },
  [FrameType.CLONE_DELIVERED]: { expected: [FrameType.CLONE_DELIVERED, 'a', 'b', 9, 2] },
  [FrameType.CLONE_PRESENCE]: {
    expected: [FrameType.CLONE_PRESENCE, 'a', 'b', 'g', false, [['k1', 'client-1', null]], ['k2']],
  },
  [FrameType.CLONE_PRESENCE_FETCH]: { expected: [FrameType.CLONE_PRESENCE_FETCH, 'a', 'b', 'g'] },
  [FrameType.LINK_ROUTES]: {
    expected: [FrameType.LINK_ROUTES, 'ns', [['add', info, ['s1', 's2']]]],
  },
};

/** Inputs with optional fields left out, and what validation fills in. */
const filled: [unknown[], Frame][] = [
  [
    [FrameType.MESSAGE, 4, 'chat', null],
    [FrameType.MESSAGE, 4, 'chat', null, null],
  ],
  [
    [FrameType.REPLY, 4],
    [FrameType.REPLY, 4, null],
  ],
  [
    [FrameType.PUBLISH, 0, 'g', null, null],
    [FrameType.PUBLISH, 0, 'g', null, null, null, false],
  ],
  [
    [FrameType.GROUP_MESSAGE, 'g', null, null],
    [FrameType.GROUP_MESSAGE, 'g', null, null, null],
  ],
  [
    [FrameType.RPC_END, 2],
    [FrameType.RPC_END, 2, null],
  ],
  [
    [FrameType.RPC_CALL, 1, 'ns', 'add', [], null],
    [FrameType.RPC_CALL, 1, 'ns', 'add', [], null],
  ],
  [
    [FrameType.RPC_STREAM, 2, 'ns', 'count', [], 16, null],
    [FrameType.RPC_STREAM, 2, 'ns', 'count', [], 16],
  ],
];

describe('validateFrame: each kind of frame', () => {
  for (const sample of Object.values(samples)) {
    const input = sample.input ?? structuredClone(sample.expected);
    test(`frame type ${String(input[0])} comes back typed and whole, as a new array`, () => {
      const frame = validateFrame(input);
      assert.deepEqual(frame, sample.expected);
      assert.notEqual(frame, input, 'a new frame, not the decoded array');
    });
  }

  test('every frame type of FrameType has a sample', () => {
    const covered = Object.keys(samples)
      .map(Number)
      .sort((a, b) => a - b);
    const types = Object.values(FrameType).sort((a, b) => a - b);
    assert.deepEqual(covered, types);
  });

  test('left-out optional fields are filled in', () => {
    for (const [input, expected] of filled) {
      assert.deepEqual(validateFrame(input), expected, JSON.stringify(input));
    }
  });

  test('the result narrows by frame type', () => {
    const frame = validateFrame([30, 1, 'ns', 'add', [1, 2]]);
    assert.equal(frame[0], FrameType.RPC_CALL);
    if (frame[0] !== FrameType.RPC_CALL) return;
    const args: unknown[] = frame[4];
    // @ts-expect-error RPC_CALL args are not a string
    const name: string = frame[4];
    assert.deepEqual(
      [args, name],
      [
        [1, 2],
        [1, 2],
      ],
    );
  });
});
