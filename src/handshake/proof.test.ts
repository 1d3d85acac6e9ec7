import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import {
  cipherSalt,
  isNonce,
  peerProof,
  randomNonce,
  serverProof,
  verifyPeerProof,
  verifyServerProof,
  type ProofContext,
} from './proof.js';

const example: ProofContext = {
  kind: 'rpc',
  peerId: 'proxy-1',
  serverId: 'node-a',
  peerNonce: 'cGVlci1ub25jZS0wMDAwMDAw',
  serverNonce: 'c2VydmVyLW5vbmNlLTAwMDAw',
};

describe('secret proofs', () => {
  test("PROTOCOL.md's worked example: the same bytes, and the page shows them", async () => {
    const page = readFileSync(new URL('../../PROTOCOL.md', import.meta.url), 'utf8');
    const server = await serverProof('example-secret', example);
    const peer = await peerProof('example-secret', example);
    assert.equal(server, 'Srot3saL2APBgMMp0eD8xuLF2VV5d1Fgm5tlWazl7Ec');
    assert.equal(peer, 'FM789bKZDXt1WEdRgZRPI0UzJn0aJFd7j_trMJkdVtU');
    assert.ok(page.includes(`server proof      ${server}`));
    assert.ok(page.includes(`peer proof        ${peer}`));
    // The key of 2.7: seal with it, open with a key derived by hand from the page's formula.
    const cipher = nodeCipherFactory('example-secret', cipherSalt(example), 'node-a', 'proxy-1');
    const sealed = cipher.seal(new TextEncoder().encode('[9]'));
    const { createDecipheriv } = await import('node:crypto');
    const key = Buffer.from(
      '133c29bfd03885a186abc07ba016f4d7b75e73a112b33f6e7c69ebdfad3622fc',
      'hex',
    );
    assert.ok(page.includes(key.toString('hex')));
    const bytes = Buffer.from(sealed);
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(0, 12));
    decipher.setAuthTag(bytes.subarray(bytes.length - 16));
    const plain = Buffer.concat([
      decipher.update(bytes.subarray(12, bytes.length - 16)),
      decipher.final(),
    ]);
    assert.equal(plain.toString(), '[9]');
  });

  test('each proof is bound to both ids, both nonces, the kind and its direction', async () => {
    const proof = await peerProof('s', example);
    assert.ok(await verifyPeerProof('s', example, proof));
    const changes: Partial<ProofContext>[] = [
      { kind: 'link' },
      { peerId: 'proxy-2' },
      { serverId: 'node-b' },
      { peerNonce: 'cGVlci1ub25jZS0wMDAwMDAx' },
      { serverNonce: 'c2VydmVyLW5vbmNlLTAwMDAx' },
    ];
    for (const change of changes) {
      assert.equal(await verifyPeerProof('s', { ...example, ...change }, proof), false);
    }
    assert.equal(await verifyPeerProof('other secret', example, proof), false);
    // A server proof is not a peer proof (no reflection).
    assert.equal(await verifyPeerProof('s', example, await serverProof('s', example)), false);
    assert.ok(await verifyServerProof('s', example, await serverProof('s', example)));
    for (const junk of [undefined, 42, '', '!!!', 'A'.repeat(200)]) {
      assert.equal(await verifyPeerProof('s', example, junk), false);
    }
  });

  test('nonces are fresh and well-formed', () => {
    const nonces = new Set(Array.from({ length: 100 }, () => randomNonce()));
    assert.equal(nonces.size, 100);
    for (const nonce of nonces) assert.ok(isNonce(nonce) && nonce.length === 24);
    assert.equal(isNonce('short'), false);
    assert.equal(isNonce('has spaces in it, too'), false);
  });
});
