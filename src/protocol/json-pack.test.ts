import assert from 'node:assert/strict';
import { test } from 'node:test';
import { jsonGroupMessage, jsonPack, jsonPackHead } from './json-pack.js';
import { FrameType } from './wire-codes.js';

test('pieces make the same frame JSON.stringify makes, and a pack of them', () => {
  const target = ['g', 'h'];
  const datas = [{ text: 'a\nb' }, 'é', null];
  const fields = [target, 'chat', null].map((value) => JSON.stringify(value)).join(',');
  const texts = datas.map((data) => JSON.stringify(data));
  assert.equal(
    jsonGroupMessage(fields, texts[0] ?? ''),
    JSON.stringify([FrameType.GROUP_MESSAGE, target, 'chat', null, datas[0]]),
  );
  assert.equal(
    jsonPack(jsonPackHead(fields), texts),
    JSON.stringify([FrameType.GROUP_MESSAGES, target, 'chat', null, datas]),
  );
});
