import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { HelloBody, PeerKind } from '../protocol/frames.js';
import { grantsFor, isOpen, planAdmission, type SecuritySetup } from './admission.js';

const open: SecuritySetup = {
  secret: false,
  authenticate: false,
  authFnIn: false,
  encryption: false,
  entry: 'any',
};

function hello(kind: PeerKind, challenge = false): HelloBody {
  return { v: 2, id: 'p', kind, ...(challenge ? { challenge: 'abcdefghijklmnop' } : {}) };
}

describe('admission plan', () => {
  test('an open server admits every kind; mesh kinds still get CHALLENGE', () => {
    assert.ok(isOpen(open));
    for (const kind of ['client', 'rpc'] as const) {
      const plan = planAdmission(hello(kind), open);
      assert.equal(plan.refuse, undefined);
      assert.equal(plan.challenge, false);
    }
    for (const kind of ['clone', 'link'] as const) {
      const plan = planAdmission(hello(kind), open);
      assert.equal(plan.refuse, undefined);
      assert.equal(plan.challenge, true);
      assert.equal(plan.requireProof, false);
    }
  });

  test('any security option closes the open mesh to unproven clones and links', () => {
    for (const setup of [
      { ...open, authenticate: true },
      { ...open, encryption: true },
    ]) {
      assert.ok(planAdmission(hello('clone'), setup).refuse);
      assert.ok(planAdmission(hello('link'), setup).refuse);
    }
    const withAuthFnIn = { ...open, authFnIn: true };
    assert.equal(planAdmission(hello('clone'), withAuthFnIn).checkAuthFnIn, true);
    assert.ok(planAdmission(hello('link'), withAuthFnIn).refuse, 'authFnIn does not admit links');
    const withSecret = { ...open, secret: true };
    assert.ok(planAdmission(hello('clone'), withSecret).refuse, 'no challenge, no entry');
    const plan = planAdmission(hello('clone', true), withSecret);
    assert.equal(plan.refuse, undefined);
    assert.equal(plan.requireProof, true);
  });

  test('authenticate applies to clients and proxies, never to admitted mesh peers', () => {
    const setup = { ...open, authenticate: true, secret: true };
    assert.equal(planAdmission(hello('client'), setup).runAuthenticate, true);
    assert.equal(planAdmission(hello('rpc', true), setup).runAuthenticate, true);
    assert.equal(planAdmission(hello('link', true), setup).runAuthenticate, false);
  });

  test('a separate mesh endpoint keeps each kind on its own endpoint', () => {
    assert.ok(planAdmission(hello('clone'), { ...open, entry: 'public' }).refuse);
    assert.ok(planAdmission(hello('client'), { ...open, entry: 'mesh' }).refuse);
    assert.equal(planAdmission(hello('clone'), { ...open, entry: 'mesh' }).refuse, undefined);
  });

  test('grants: RPC only with the proof when there is a secret; mesh peers are not rate limited', () => {
    const secret = { ...open, secret: true };
    assert.deepEqual(grantsFor(hello('client'), secret, false), {
      role: 'client',
      rpc: false,
      rateLimited: true,
    });
    assert.equal(grantsFor(hello('client', true), secret, true).rpc, true);
    assert.deepEqual(grantsFor(hello('link', true), secret, true), {
      role: 'link',
      rpc: true,
      rateLimited: false,
    });
    assert.equal(grantsFor(hello('rpc'), open, false).rateLimited, true);
  });

  test('grants are shared by the connections of one kind (no object per idle connection)', () => {
    for (const kind of ['client', 'rpc', 'clone', 'link'] as const) {
      assert.equal(grantsFor(hello(kind), open, false), grantsFor(hello(kind), open, false), kind);
    }
  });
});
