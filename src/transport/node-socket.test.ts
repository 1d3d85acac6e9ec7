import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PreparedFrame } from './node-socket.js';

// Each test file runs in its own process, so nothing here has `require`d 'ws' before: this
// checks that fan-out really frames once under ESM (ws's Sender is a named export there).
test('a prepared frame is framed once, as a ws server frame', () => {
  const text = new PreparedFrame('hello');
  assert.ok(text.framed !== undefined, 'ws Sender.frame is reachable');
  const bytes = Buffer.concat(text.framed);
  assert.equal(text.framed.length, 1, 'small frames are one buffer');
  assert.equal(bytes[0], 0x81); // FIN + text opcode
  assert.equal(bytes[1], 5); // unmasked, length 5
  assert.equal(bytes.subarray(2).toString(), 'hello');
  const binary = new PreparedFrame(new Uint8Array([1, 2, 3]));
  assert.equal(Buffer.concat(binary.framed ?? [])[0], 0x82); // FIN + binary opcode
});
