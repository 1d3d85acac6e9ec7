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
    // The keys of 2.7: what the dialing side seals opens with the page's to-server key and
    // counter 0, then 1; the accepting side's cipher opens them once, in order, and no more.
    const dialing = nodeCipherFactory(
      'example-secret',
      cipherSalt(example),
      'node-a',
      'proxy-1',
      'dialing',
    );
    const accepting = nodeCipherFactory(
      'example-secret',
      cipherSalt(example),
      'node-a',
      'proxy-1',
      'accepting',
    );
    const { createDecipheriv } = await import('node:crypto');
    const toServer = '4d57a67fa2711d7bb7be51ace552d89fbdf0017ccfaa97514a2bf8e729cb0a8e';
    assert.ok(page.includes(`key to-server     ${toServer}`));
    const first = Buffer.from(dialing.seal(new TextEncoder().encode('[9]')));
    const second = Buffer.from(dialing.seal(new TextEncoder().encode('[10]')));
    for (const [sealed, counter, text] of [
      [first, 0, '[9]'],
      [second, 1, '[10]'],
    ] as const) {
      const iv = sealed.subarray(0, 12);
      assert.equal(iv.readBigUInt64BE(4), BigInt(counter));
      const decipher = createDecipheriv('aes-256-gcm', Buffer.from(toServer, 'hex'), iv);
      decipher.setAuthTag(sealed.subarray(sealed.length - 16));
      const plain = Buffer.concat([
        decipher.update(sealed.subarray(12, sealed.length - 16)),
        decipher.final(),
      ]);
      assert.equal(plain.toString(), text);
    }
    assert.equal(accepting.open(second), undefined, 'out of order');
    assert.equal(Buffer.from(accepting.open(first) ?? []).toString(), '[9]');
    assert.equal(accepting.open(first), undefined, 'repeated');
    assert.equal(Buffer.from(accepting.open(second) ?? []).toString(), '[10]');
    // Reflected: the dialing side's own frame does not open on its side.
    assert.equal(dialing.open(first), undefined, 'reflected');
    const reply = accepting.seal(new TextEncoder().encode('[10]'));
    assert.equal(Buffer.from(dialing.open(reply) ?? []).toString(), '[10]');
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
