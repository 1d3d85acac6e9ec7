/**
 * What `Connection.send` and `Connection.request` accept, checked by the compiler: every
 * `@ts-expect-error` below must stay an error, or `npm run typecheck` fails with "Unused
 * '@ts-expect-error' directive". The function is never called; the runtime test only makes
 * the file part of the suite.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FrameType, type Frame, type RequestBuilder } from '../protocol/frames.js';
import type { Connection } from './connection.js';

export function sendsOnlyWellFormedFrames(connection: Connection, untyped: unknown[]): void {
  // Well formed: compiles.
  connection.send([FrameType.MESSAGE, 0, 'chat', null, { text: 'hi' }]);
  connection.send([FrameType.SUBSCRIBE, 0, 'lobby']);
  connection.send([FrameType.RPC_CALL, 1, 'ns', 'fn', [], null, 5000]);
  connection.send([FrameType.PING]);
  void connection.request((id) => [FrameType.SUBSCRIBE, id, 'lobby']);
  void connection.request((id) => [FrameType.RPC_LIST, id, 'ns'], { timeout: 100 });

  // @ts-expect-error a MESSAGE needs route, act and data
  connection.send([FrameType.MESSAGE, 0]);
  // @ts-expect-error a group id is a string
  connection.send([FrameType.SUBSCRIBE, 0, 42]);
  // @ts-expect-error no frame has type 99
  connection.send([99, 'x']);
  // @ts-expect-error a frame type is a number of FrameType, not its name
  connection.send(['PING']);
  // @ts-expect-error an untyped array is not a frame
  connection.send(untyped);
  // @ts-expect-error RPC_CALL args are an array
  connection.send([FrameType.RPC_CALL, 1, 'ns', 'fn', 'not-args']);
  // @ts-expect-error an ERROR carries a WireError (code and message)
  connection.send([FrameType.ERROR, 1, { message: 'no code' }]);
  // @ts-expect-error a request is built around the id the connection picks, not passed whole
  void connection.request([FrameType.SUBSCRIBE, 0, 'lobby']);
  // @ts-expect-error PING asks for no reply: it is not a request frame
  void connection.request((id) => [FrameType.PING, id]);
  // @ts-expect-error a builder that ignores the frame's shape is refused too
  void connection.request((id) => [FrameType.SUBSCRIBE, id]);
}

/** A request frame built for id 3 is a frame that can be sent as is. */
export function builtRequestsAreFrames(build: RequestBuilder): Frame {
  return build(3);
}

test('the type-level checks of send and request compile (see npm run typecheck)', () => {
  assert.equal(typeof sendsOnlyWellFormedFrames, 'function');
});
