import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonCodec } from '../protocol/codec.js';
import type { FrameCipher } from './frame-cipher.js';
import { inboundRules } from './inbound.js';

test('rules without a cipher are shared per codec and batching; with one, each is its own', () => {
  const plain = inboundRules(jsonCodec, false, undefined);
  const batched = inboundRules(jsonCodec, true, undefined);
  assert.equal(inboundRules(jsonCodec, false, undefined), plain);
  assert.equal(inboundRules(jsonCodec, true, undefined), batched);
  assert.deepEqual(
    [plain.batches, batched.batches, plain.codec, plain.cipher],
    [false, true, jsonCodec, undefined],
  );
  const cipher = {} as FrameCipher;
  const sealed = inboundRules(jsonCodec, false, cipher);
  assert.equal(sealed.cipher, cipher);
  assert.notEqual(inboundRules(jsonCodec, false, cipher), sealed);
});
