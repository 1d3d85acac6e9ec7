/**
 * Every kind of frame through `validateFrame`: a well-formed input comes back as a new,
 * typed frame of its kind, with left-out optional fields filled in and unknown fields left
 * out. The table is typed per frame type, so the compiler checks that each expected frame is
 * of its kind and that no frame type is missing.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { FrameType, type Frame, type FrameOf, type FunctionInfo } from './frames.js';
import { validateFrame } from './validate.js';

interface Sample<T extends Frame[0]> {
  /** What a peer sends (decoded). */
  input: unknown[];
  /** What validation hands on. */
  expected: FrameOf<T>;
}

const record = { id: 'b', instance: 'i-b', url: 'ws://b', v: 3, links: ['a'], groups: ['g'] };
const info: FunctionInfo = {
  name: 'add',
  params: ['a', 'b'],
  arity: 2,
  maxArgs: 2,
  kind: 'function',
};
const wire = { code: 'ERR_REMOTE', message: 'boom', name: 'TypeError', origin: 'srv' };

const samples: { [T in Frame[0]]: Sample<T> } = {
  [FrameType.HELLO]: {
    input: [0, { v: 2, id: 'c1', kind: 'client', batch: true, extra: 'dropped' }],
    expected: [FrameType.HELLO, { v: 2, id: 'c1', kind: 'client', batch: true }],
  },
  [FrameType.WELCOME]: {
    input: [1, { v: 2, serverId: 's', connectionId: 'k', maxPayload: 1024 }],
    expected: [FrameType.WELCOME, { v: 2, serverId: 's', connectionId: 'k', maxPayload: 1024 }],
  },
  [FrameType.CHALLENGE]: {
    input: [12, { serverId: 's', nonce: 'n'.repeat(24) }],
    expected: [FrameType.CHALLENGE, { serverId: 's', nonce: 'n'.repeat(24) }],
  },
  [FrameType.AUTH]: {
    input: [13, { proof: 'p', credentials: { token: 't' } }],
    expected: [FrameType.AUTH, { proof: 'p', credentials: { token: 't' } }],
  },
  [FrameType.MESSAGE]: {
    input: [2, 4, 'chat', null],
    expected: [FrameType.MESSAGE, 4, 'chat', null, null],
  },
  [FrameType.REPLY]: { input: [3, 4, { ok: true }], expected: [FrameType.REPLY, 4, { ok: true }] },
  [FrameType.ERROR]: {
    input: [4, 4, { ...wire, remoteCode: 7 }],
    expected: [FrameType.ERROR, 4, wire],
  },
  [FrameType.SUBSCRIBE]: { input: [5, 1, 'g'], expected: [FrameType.SUBSCRIBE, 1, 'g'] },
  [FrameType.UNSUBSCRIBE]: { input: [6, 1, 'g'], expected: [FrameType.UNSUBSCRIBE, 1, 'g'] },
  [FrameType.PUBLISH]: {
    input: [7, 0, ['g', 'h'], 'r', 'a'],
    expected: [FrameType.PUBLISH, 0, ['g', 'h'], 'r', 'a', null, false],
  },
  [FrameType.GROUP_MESSAGE]: {
    input: [8, null, 'r', null, 1],
    expected: [FrameType.GROUP_MESSAGE, null, 'r', null, 1],
  },
  [FrameType.PING]: { input: [9, 'ignored'], expected: [FrameType.PING] },
  [FrameType.PONG]: { input: [10], expected: [FrameType.PONG] },
  [FrameType.MEMBERSHIP]: { input: [11, 'g', true], expected: [FrameType.MEMBERSHIP, 'g', true] },
  [FrameType.CLONE_SYNC]: {
    input: [20, [{ ...record, unknown: 1 }], [['c', null]]],
    expected: [FrameType.CLONE_SYNC, [record], [['c', null]]],
  },
  [FrameType.CLONE_UPDATE]: {
    input: [21, { ...record, page: [0, 2] }],
    expected: [FrameType.CLONE_UPDATE, { ...record, page: [0, 2] }],
  },
  [FrameType.CLONE_REQUEST]: { input: [22, 'b'], expected: [FrameType.CLONE_REQUEST, 'b'] },
  [FrameType.CLONE_DIGEST]: {
    input: [23, [['b', 3]]],
    expected: [FrameType.CLONE_DIGEST, [['b', 3]]],
  },
  [FrameType.CLONE_RELAY]: {
    input: [24, 'i-a', 9, null, 'g', new Uint8Array([1, 2])],
    expected: [FrameType.CLONE_RELAY, 'i-a', 9, null, 'g', new Uint8Array([1, 2])],
  },
  [FrameType.CLONE_GROUP_DELETE]: {
    input: [25, 'i-a', 10, 'g'],
    expected: [FrameType.CLONE_GROUP_DELETE, 'i-a', 10, 'g'],
  },
  [FrameType.RPC_CALL]: {
    input: [30, 1, 'ns', 'add', [1, 2], null, 500],
    expected: [FrameType.RPC_CALL, 1, 'ns', 'add', [1, 2], null, 500],
  },
  [FrameType.RPC_CANCEL]: { input: [31, 1], expected: [FrameType.RPC_CANCEL, 1] },
  [FrameType.RPC_STREAM]: {
    input: [32, 2, 'ns', 'count', [3], 16, 4],
    expected: [FrameType.RPC_STREAM, 2, 'ns', 'count', [3], 16, 4],
  },
  [FrameType.RPC_ITEMS]: { input: [33, 2, [1, 2]], expected: [FrameType.RPC_ITEMS, 2, [1, 2]] },
  [FrameType.RPC_END]: { input: [34, 2], expected: [FrameType.RPC_END, 2, null] },
  [FrameType.RPC_STREAM_ERROR]: {
    input: [35, 2, wire],
    expected: [FrameType.RPC_STREAM_ERROR, 2, wire],
  },
  [FrameType.RPC_CREDIT]: { input: [36, 2, 8], expected: [FrameType.RPC_CREDIT, 2, 8] },
  [FrameType.RPC_STREAM_CANCEL]: { input: [37, 2], expected: [FrameType.RPC_STREAM_CANCEL, 2] },
  [FrameType.RPC_LIST]: { input: [38, 5, 'ns'], expected: [FrameType.RPC_LIST, 5, 'ns'] },
  [FrameType.RPC_FUNCTIONS]: {
    input: [39, 'ns', [{ ...info, note: 'dropped' }]],
    expected: [FrameType.RPC_FUNCTIONS, 'ns', [info]],
  },
  [FrameType.LINK_ROUTES]: {
    input: [40, 'ns', [['add', info, ['s1', 's2']]]],
    expected: [FrameType.LINK_ROUTES, 'ns', [['add', info, ['s1', 's2']]]],
  },
};

describe('validateFrame: each kind of frame', () => {
  for (const sample of Object.values(samples)) {
    const type = String(sample.input[0]);
    test(`frame type ${type} comes back typed, as a new array`, () => {
      const frame = validateFrame(sample.input);
      assert.deepEqual(frame, sample.expected);
      assert.notEqual(frame, sample.input, 'a new frame, not the decoded array');
    });
  }

  test('every frame type of FrameType has a sample', () => {
    const covered = Object.keys(samples)
      .map(Number)
      .sort((a, b) => a - b);
    const types = Object.values(FrameType).sort((a, b) => a - b);
    assert.deepEqual(covered, types);
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
