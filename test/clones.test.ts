/**
 * Clones (SPEC section 4, docs/clones.md), in one process over real sockets on 127.0.0.1:
 * membership, authentication, relay of group messages, faults. Every trap listed for the
 * clone library in LESSONS.md has a test here or in clones-process.test.ts.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createServer as createNetServer } from 'node:net';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/client/client.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import {
  Attempts,
  assertBacksOff,
  awaitInterest,
  deliverMarker,
  flush,
  knownIds,
  linkedAll,
  linkedIds,
  prober,
  publishNumbered,
  range,
  sequences,
  startClone,
  startInbox,
  startMesh,
  startTcpProxy,
  watchCloneFrames,
  stopClones,
  stopInboxes,
  type Clone,
  type Inbox,
} from './clone-helpers.js';
import {
  Cleanup,
  connectRaw,
  delay,
  getFreePort,
  isFrame,
  rawPackr,
  waitFor,
  within,
} from './helpers.js';
import { rawHandshake } from './trust-helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function codeOf(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

function errorCodes(clone: Clone): unknown[] {
  return clone.errors.map(codeOf);
}

// ---------------------------------------------------------------------------------------------

/** First of `count` consecutive ports that are free on every interface (the example's bind). */
async function freePortBlock(count: number): Promise<number> {
  const free = (port: number): Promise<boolean> =>
    new Promise((resolve) => {
      const probe = createNetServer();
      probe.once('error', () => resolve(false));
      probe.listen(port, () => probe.close(() => resolve(true)));
    });
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let offset = 0; offset < count && ok; offset++) ok = await free(base + offset);
    if (ok) return base;
  }
  throw new Error('no block of free ports found');
}

interface ExampleRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runExample(file: string, env: Record<string, string>): Promise<ExampleRun> {
  const child = spawn(process.execPath, ['--import', 'tsx', file], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<ExampleRun>((resolve) => {
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
  // The example must exit by itself (stopped servers and clients leave no timer running).
  return within(exited, 20_000, `${file} exit`).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
}

/** Runs an example on a block of free ports, again if a port was taken meanwhile. */
async function runExampleOnFreePorts(
  file: string,
  ports: number,
  env: (base: number) => Record<string, string>,
): Promise<ExampleRun> {
  let run: ExampleRun | undefined;
  for (let attempt = 0; attempt < 3; attempt++) {
    run = await runExample(file, env(await freePortBlock(ports)));
    if (!(run.code !== 0 && run.stderr.includes('EADDRINUSE'))) return run;
  }
  assert.ok(run !== undefined);
  return run;
}

describe('examples', { concurrency: true }, () => {
  test('examples/seed-clones.ts prints, line by line, the sets of clone ids the seed documents', async (t) => {
    const expected = [
      ['clone2', 'clone4'],
      ['clone4', 'clone1'],
      [],
      ['clone2', 'clone1'],
      ['clone2', 'clone4', 'clone3'],
      ['clone4', 'clone1', 'clone3'],
      ['clone4', 'clone1', 'clone2'],
      ['clone2', 'clone1', 'clone3'],
    ];
    const run = await runExampleOnFreePorts('examples/seed-clones.ts', 4, (base) => ({
      SEED_BASE_PORT: String(base),
      SEED_WAIT_MS: '500',
    }));
    assert.equal(run.code, 0, `the example failed:\n${run.stderr}`);
    const lines = run.stdout.split('\n').filter((line) => line.startsWith('[Map Iterator]'));
    assert.equal(lines.length, 8, `expected 8 lines, got:\n${run.stdout}`);
    let sameOrder = 0;
    lines.forEach((line, index) => {
      const ids = [...line.matchAll(/'([^']*)'/g)].map((match) => match[1]);
      const want = expected[index] ?? [];
      assert.deepEqual([...ids].sort(), [...want].sort(), `line ${index + 1}: ${line}`);
      if (ids.join(',') === want.join(',')) sameOrder++;
    });
    t.diagnostic(`${sameOrder}/8 lines list the ids in the seed's order`);
  });

  test('examples/clone-mesh.ts: three clones, a client on each: every client prints every message once', async () => {
    const run = await runExampleOnFreePorts('examples/clone-mesh.ts', 3, (base) => ({
      CLONE_MESH_BASE_PORT: String(base),
    }));
    assert.equal(run.code, 0, `the example failed:\n${run.stdout}\n${run.stderr}`);
    const got = run.stdout.split('\n').filter((line) => line.includes(' got: '));
    assert.equal(got.length, 9, run.stdout);
    for (const n of [1, 2, 3]) {
      assert.deepEqual(
        got.filter((line) => line.startsWith(`client${n} `)).map((line) => line.split(' got: ')[1]),
        ['hello', 'from', 'clone1'],
      );
    }
    assert.match(run.stdout, /every client got every message/);
  });
});

// ---------------------------------------------------------------------------------------------

describe('membership', () => {
  test('one addClone joins a whole mesh; clones.clones never holds the own id', async () => {
    const clones: Clone[] = [];
    let sampler: ReturnType<typeof setInterval> | undefined;
    try {
      for (const id of ['m1', 'm2', 'm3', 'm4']) clones.push(await startClone(id));
      const [m1, m2, m3, m4] = clones;
      assert.ok(m1 && m2 && m3 && m4);
      let auths = 0;
      for (const clone of clones) clone.server.on('auth', () => auths++);
      const sawOwnId: string[] = [];
      sampler = setInterval(() => {
        for (const clone of clones)
          if (clone.server.clones.clones.has(clone.id)) sawOwnId.push(clone.id);
      }, 1);
      assert.throws(() => m1.server.addClone({ id: 'm1', url: m2.url }), {
        code: 'ERR_INVALID_ARGUMENT',
      });
      // Two separate pairs, then one call joins them.
      m1.server.addClone({ id: 'm2', url: m2.url });
      m3.server.addClone({ id: 'm4', url: m4.url });
      await waitFor(() => linkedAll([m1, m2]) && linkedAll([m3, m4]), 5000, 'two pairs');
      assert.deepEqual(knownIds(m1.server), ['m2']);
      assert.deepEqual(knownIds(m3.server), ['m4']);
      m2.server.addClone({ id: 'm3', url: m3.url });
      await waitFor(() => linkedAll(clones), 5000, 'all four linked');
      // One link per pair: each pair was dialed once (by the smaller id; every addClone above
      // also names the larger id), not once per direction as in the original library.
      assert.equal(auths, 6);
      // Every clone has exactly three links, and no clone link is a client.
      for (const clone of clones) {
        assert.equal(clone.server.clones.linkedIds().length, 3);
        assert.equal(clone.server.clients.size, 0);
        for (const remote of clone.server.clones.clones.values())
          assert.equal(remote.state, 'linked');
      }
      assert.deepEqual(sawOwnId, []);
      assert.deepEqual(clones.flatMap(errorCodes), []);
    } finally {
      if (sampler !== undefined) clearInterval(sampler);
      await stopClones(clones);
    }
  });

  test('changes are pushed: a 4-clone chain with cloneInterval 10000 converges before the first interval', async (t) => {
    const clones: Clone[] = [];
    try {
      const startedAt = Date.now();
      for (const id of ['c1', 'c2', 'c3', 'c4'])
        clones.push(await startClone(id, { cloneInterval: 10_000 }));
      const joinedAt = Date.now();
      for (let index = 0; index + 1 < clones.length; index++) {
        const next = clones[index + 1];
        assert.ok(next);
        clones[index]?.server.addClone({ id: next.id, url: next.url });
      }
      await waitFor(() => linkedAll(clones), 5000, 'chain converged');
      const convergedAt = Date.now();
      t.diagnostic(`4-clone chain converged in ${convergedAt - joinedAt} ms`);
      // No periodic exchange has run yet on any clone: the first one is due 10 s after start.
      assert.ok(convergedAt - startedAt < 10_000, 'converged before the first cloneInterval');
    } finally {
      await stopClones(clones);
    }
  });

  test('a clone that stops is forgotten at once by clones that only learned of it; explicit ones are kept', async () => {
    const clones: Clone[] = [];
    try {
      const startedAt = Date.now();
      for (const id of ['f1', 'f2', 'f3'])
        clones.push(await startClone(id, { cloneInterval: 10_000 }));
      const [f1, f2, f3] = clones;
      assert.ok(f1 && f2 && f3);
      f2.server.addClone({ id: 'f1', url: f1.url });
      f3.server.addClone({ id: 'f1', url: f1.url });
      await waitFor(() => linkedAll(clones), 5000, 'mesh');
      // f1 and f2 only learned of f3: its tombstone makes them forget it.
      await f3.server.stop();
      await waitFor(
        () => knownIds(f1.server).join() === 'f2' && knownIds(f2.server).join() === 'f1',
        5000,
        'f3 forgotten',
      );
      // f2 added f1 explicitly: it keeps it (and keeps dialing it) after f1 stops.
      await f1.server.stop();
      await waitFor(() => linkedIds(f2.server).length === 0, 5000, 'f2 lost its link');
      assert.deepEqual(knownIds(f2.server), ['f1']);
      assert.notEqual(f2.server.clones.clones.get('f1')?.state, 'linked');
      assert.ok(Date.now() - startedAt < 10_000, 'all of it before the first cloneInterval');
    } finally {
      await stopClones(clones);
    }
  });

  test('deleteClone closes the link, stops dialing, and is not undone by gossip', async () => {
    const clones: Clone[] = [];
    try {
      for (const id of ['d1', 'd2', 'd3'])
        clones.push(await startClone(id, { cloneInterval: 100 }));
      const [d1, d2, d3] = clones;
      assert.ok(d1 && d2 && d3);
      d1.server.addClone({ id: 'd2', url: d2.url });
      d1.server.addClone({ id: 'd3', url: d3.url });
      await waitFor(() => linkedAll(clones), 5000, 'mesh');
      // Every record of d3 that d2 sends d1 from now on must be ignored.
      let toldAboutD3 = 0;
      const stopWatching = watchCloneFrames(d1.server, (peerId, frame) => {
        if (peerId !== 'd2') return;
        const records =
          frame[0] === FrameType.CLONE_UPDATE
            ? [frame[1]]
            : frame[0] === FrameType.CLONE_SYNC
              ? frame[1]
              : [];
        if (records.some((record) => record.id === 'd3')) toldAboutD3++;
      });
      assert.equal(d1.server.deleteClone({ id: 'd3' }), true);
      assert.deepEqual(knownIds(d1.server), ['d2']);
      await waitFor(() => !linkedIds(d3.server).includes('d1'), 5000, 'd3 lost its link to d1');
      // d2 keeps telling d1 about d3 (each gossip round), and d1 keeps ignoring it.
      await waitFor(() => toldAboutD3 >= 3, 5000, 'd2 sent the record of d3 three times');
      stopWatching();
      assert.deepEqual(knownIds(d1.server), ['d2']);
      assert.deepEqual(linkedIds(d1.server), ['d2']);
      assert.ok(!linkedIds(d3.server).includes('d1'));
      // Other clones are not changed.
      assert.deepEqual(knownIds(d2.server), ['d1', 'd3']);
      assert.deepEqual(linkedIds(d2.server), ['d1', 'd3']);
      assert.deepEqual(knownIds(d3.server), ['d1', 'd2']);
      assert.equal(d1.server.deleteClone({ id: 'nobody' }), false);
      // addClone names it again: linked again.
      d1.server.addClone({ id: 'd3', url: d3.url });
      await waitFor(() => linkedAll(clones), 5000, 'relinked after addClone');
    } finally {
      await stopClones(clones);
    }
  });

  test('deleteClone also refuses the deleted clone when it keeps dialing in', async (t) => {
    const clones: Clone[] = [];
    try {
      for (const id of ['e1', 'e2']) clones.push(await startClone(id, { cloneInterval: 100 }));
      const [e1, e2] = clones;
      assert.ok(e1 && e2);
      // e2 dials e1 explicitly and keeps doing so: deleteClone on e1 does not change e2.
      e2.server.addClone({ id: 'e1', url: e1.url });
      await waitFor(() => linkedAll(clones), 5000, 'pair linked');
      const attempts = new Attempts();
      e1.server.on('auth', ({ clone }) => {
        if (clone.id === 'e2') attempts.note();
      });
      e1.server.deleteClone({ id: 'e2' });
      await waitFor(() => linkedIds(e2.server).length === 0, 5000, 'e2 lost its link');
      // e2 backs off instead of hammering: each wait at least doubles.
      const gaps = await attempts.gapsOnceSeen(4);
      t.diagnostic(`e2 redialed e1 after ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms`);
      assertBacksOff(gaps, 100);
      // No live link to a clone e1 does not list, after every refused attempt.
      assert.deepEqual(knownIds(e1.server), []);
      assert.deepEqual(linkedIds(e1.server), []);
      assert.deepEqual(linkedIds(e2.server), []);
      assert.deepEqual(knownIds(e2.server), ['e1']);
    } finally {
      await stopClones(clones);
    }
  });

  test('updateAuthFnOut closes the links this clone dialed and dials again with the new value', async () => {
    const seen: unknown[] = [];
    const clones: Clone[] = [];
    try {
      const target = await startClone('u2', {
        authFnIn: (value) => {
          seen.push(value);
          return value === 'v1' || value === 'v2';
        },
      });
      clones.push(target);
      const dialer = await startClone('u1', { authFnOut: () => 'v1' });
      clones.push(dialer);
      dialer.server.addClone({ id: 'u2', url: target.url });
      await waitFor(() => linkedAll(clones), 5000, 'linked with v1');
      assert.deepEqual(seen, ['v1']);
      dialer.server.updateAuthFnOut(async () => 'v2');
      await waitFor(() => seen.includes('v2') && linkedAll(clones), 5000, 'relinked with v2');
      assert.deepEqual(seen, ['v1', 'v2']);
    } finally {
      await stopClones(clones);
    }
  });

  test('updateAuthFnOut fixes a refused link at once, without waiting out the backoff', async () => {
    const clones: Clone[] = [];
    try {
      const target = await startClone('w2', { authFnIn: (value) => value === 'good' });
      clones.push(target);
      const dialer = await startClone('w1', { authFnOut: () => 'bad' });
      clones.push(dialer);
      let refusals = 0;
      dialer.server.on('authError', () => refusals++);
      dialer.server.addClone({ id: 'w2', url: target.url });
      // After two refusals the next attempt is seconds away.
      await waitFor(() => refusals >= 2, 5000, 'two refusals');
      const fixedAt = Date.now();
      dialer.server.updateAuthFnOut(() => 'good');
      await waitFor(() => linkedAll(clones), 5000, 'linked after the fix');
      assert.ok(Date.now() - fixedAt < 2000, 'dialed again at once');
    } finally {
      await stopClones(clones);
    }
  });

  test('a per-clone authFnOut given to addClone is used for that clone; authFnOut gets {id, url}', async () => {
    const seen: unknown[] = [];
    const args: unknown[] = [];
    const clones: Clone[] = [];
    try {
      const target = await startClone('p2', {
        authFnIn: (value) => {
          seen.push(value);
          return true;
        },
      });
      clones.push(target);
      const dialer = await startClone('p1', { authFnOut: () => 'server-wide' });
      clones.push(dialer);
      dialer.server.addClone({
        id: 'p2',
        url: target.url,
        authFnOut: (clone) => {
          args.push(clone);
          return { token: 'for-p2', n: 1 };
        },
      });
      await waitFor(() => linkedAll(clones), 5000, 'linked');
      assert.deepEqual(seen, [{ token: 'for-p2', n: 1 }]);
      assert.deepEqual(args, [{ id: 'p2', url: target.url }]);
    } finally {
      await stopClones(clones);
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('authentication', { concurrency: true }, () => {
  const variants = [
    { name: 'sync authFnIn, sync authFnOut', asyncIn: false, asyncOut: false },
    { name: 'async authFnIn, sync authFnOut', asyncIn: true, asyncOut: false },
    { name: 'sync authFnIn, async authFnOut', asyncIn: false, asyncOut: true },
    { name: 'async authFnIn, async authFnOut', asyncIn: true, asyncOut: true },
  ];
  for (const variant of variants) {
    test(`${variant.name}: a good value links and emits auth`, async () => {
      const clones: Clone[] = [];
      try {
        const check = (value: unknown): boolean => value === 'token';
        const target = await startClone('a2', {
          authFnIn: variant.asyncIn
            ? async (value) => {
                await delay(5);
                return check(value);
              }
            : check,
        });
        clones.push(target);
        const dialer = await startClone('a1', {
          authFnOut: variant.asyncOut
            ? async () => {
                await delay(5);
                return 'token';
              }
            : () => 'token',
        });
        clones.push(dialer);
        const auths: unknown[] = [];
        const authErrors: unknown[] = [];
        target.server.on('auth', ({ clone }) => auths.push(clone.id));
        for (const clone of clones)
          clone.server.on('authError', ({ clone: remote }) => authErrors.push(remote.id));
        dialer.server.addClone({ id: 'a2', url: target.url });
        await waitFor(() => linkedAll(clones), 5000, 'linked');
        assert.deepEqual(auths, ['a1']);
        assert.deepEqual(authErrors, []);
      } finally {
        await stopClones(clones);
      }
    });
  }

  test('a wrong authValue: link closed, authError on both sides, and the dialer backs off', async (t) => {
    const clones: Clone[] = [];
    try {
      const target = await startClone('r2', {
        authFnIn: async (value) => value === 'good',
        cloneInterval: 200,
      });
      clones.push(target);
      const dialer = await startClone('r1', { authFnOut: () => 'bad', cloneInterval: 200 });
      clones.push(dialer);
      const refusedHere: string[] = [];
      const refusedThere: string[] = [];
      const attempts = new Attempts();
      target.server.on('authError', attempts.note);
      let auths = 0;
      target.server.on('authError', ({ clone, error }) => {
        refusedHere.push(clone.id);
        assert.equal(codeOf(error), 'ERR_AUTH');
      });
      target.server.on('auth', () => auths++);
      dialer.server.on('authError', ({ clone }) => refusedThere.push(clone.id));
      dialer.server.addClone({ id: 'r2', url: target.url });
      await waitFor(
        () => refusedHere.length > 0 && refusedThere.length > 0,
        5000,
        'authError on both sides',
      );
      assert.equal(refusedHere[0], 'r1');
      assert.equal(refusedThere[0], 'r2');
      // A refusal counts as four failures: the next attempt waits 800 to 1600 ms, not 200.
      const [gap = 0] = await attempts.gapsOnceSeen(2);
      t.diagnostic(`second attempt after ${gap.toFixed(0)} ms`);
      assert.ok(gap >= 800 - 2, `the dialer retried after ${gap.toFixed(0)} ms`);
      assert.equal(auths, 0);
      assert.deepEqual(linkedIds(target.server), []);
      assert.deepEqual(linkedIds(dialer.server), []);
      assert.deepEqual(knownIds(target.server), []);
      assert.notEqual(dialer.server.clones.clones.get('r2')?.state, 'linked');
    } finally {
      await stopClones(clones);
    }
  });

  test('the accepting side answers a refused clone with ERR_AUTH and close code 4003', async () => {
    const cleanup = new Cleanup();
    try {
      const target = await startClone('x1', { authFnIn: (value) => value === 'good' });
      cleanup.add(() => target.server.stop());
      const refused: string[] = [];
      target.server.on('authError', ({ clone }) => refused.push(clone.id));
      const outcome = await rawHandshake(target.url, {
        codec: 'msgpack',
        id: 'rogue',
        kind: 'clone',
        authValue: 'bad',
      });
      cleanup.add(() => outcome.peer.terminate());
      assert.equal(outcome.errorCode, 'ERR_AUTH');
      assert.equal(outcome.closeCode, 4003);
      assert.deepEqual(refused, ['rogue']);
      assert.equal(target.server.clones.clones.size, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('without authFnIn any clone may connect, with or without authFnOut', async () => {
    const clones: Clone[] = [];
    try {
      const open = await startClone('o1');
      clones.push(open);
      clones.push(await startClone('o2', { authFnOut: () => 'whatever' }));
      clones.push(await startClone('o3'));
      const auths: string[] = [];
      open.server.on('auth', ({ clone }) => auths.push(clone.id));
      for (const clone of clones.slice(1)) clone.server.addClone({ id: 'o1', url: open.url });
      await waitFor(() => linkedAll(clones), 5000, 'linked');
      assert.deepEqual(auths.sort(), ['o2', 'o3']);
    } finally {
      await stopClones(clones);
    }
  });

  test('an ordinary client that sends clone frames gets ERR_PROTOCOL and changes nothing', async () => {
    const cleanup = new Cleanup();
    try {
      const clone = await startClone('k1');
      cleanup.add(() => clone.server.stop());
      clone.server.groups.add({ id: 'kept' });
      const inbox = await startInbox(clone.url, ['g']);
      cleanup.add(() => inbox.client.stop());
      const record = {
        id: 'evil',
        instance: 'i',
        url: 'ws://127.0.0.1:9',
        v: 1,
        links: [],
        groups: ['g'],
      };
      const frames: unknown[][] = [
        [FrameType.CLONE_SYNC, [record], [['evil2', 'ws://127.0.0.1:9']]],
        [FrameType.CLONE_UPDATE, record],
        [FrameType.CLONE_REQUEST, 'k1'],
        [FrameType.CLONE_DIGEST, [['evil', 3]]],
        [
          FrameType.CLONE_RELAY,
          'evil',
          1,
          null,
          'g',
          rawPackr.pack([FrameType.GROUP_MESSAGE, 'g', 'msg', null, 1]),
        ],
        [FrameType.CLONE_GROUP_DELETE, 'evil', 2, 'kept'],
      ];
      for (const codec of ['json', 'msgpack'] as const) {
        const peer = await connectRaw(clone.url, {
          codec,
          hello: { v: PROTOCOL_VERSION, id: 'plain', kind: 'client' },
        });
        cleanup.add(() => peer.terminate());
        for (const frame of frames) {
          if (codec === 'json' && frame[0] === FrameType.CLONE_RELAY) continue; // bytes need msgpack
          const from = peer.frames.length;
          peer.send(frame);
          const answer = await peer.waitForFrame((f) => isFrame(f, FrameType.ERROR), {
            after: from,
          });
          assert.equal(
            ((answer as unknown[])[2] as { code?: unknown }).code,
            'ERR_PROTOCOL',
            `frame ${frame[0]}`,
          );
        }
        assert.ok(peer.open, 'the connection stays open');
      }
      assert.equal(clone.server.clones.clones.size, 0);
      assert.deepEqual(linkedIds(clone.server), []);
      assert.ok(clone.server.groups.get({ id: 'kept' }) !== undefined, 'group not deleted');
      assert.equal(inbox.of('msg').length, 0);
      assert.equal(clone.server.clones.relayStats.relayedIn, 0);
    } finally {
      await cleanup.run();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('group relay', () => {
  test('every subscriber on every clone gets every message once, in order (4 clones, 2 publishers, 500 messages)', async () => {
    let clones: Clone[] = [];
    const inboxes: Inbox[] = [];
    const publishers: Client[] = [];
    try {
      clones = await startMesh(['g1', 'g2', 'g3', 'g4']);
      for (const clone of clones) {
        inboxes.push(await startInbox(clone.url, ['room'], { codec: 'json' }));
        inboxes.push(await startInbox(clone.url, ['room'], { codec: 'msgpack' }));
      }
      for (const clone of [clones[0], clones[2]]) {
        assert.ok(clone);
        const publisher = new Client({ url: clone.url, reconnect: false, silent: true });
        await publisher.start();
        publishers.push(publisher);
      }
      const [p1, p2] = publishers;
      assert.ok(p1 && p2);
      await awaitInterest(prober(p1, 'room'), inboxes);
      await awaitInterest(prober(p2, 'room'), inboxes);
      for (let n = 0; n < 250; n++) {
        publishNumbered(p1, 'p1', 'room', n, n + 1);
        publishNumbered(p2, 'p2', 'room', n, n + 1);
      }
      await flush(publishers, 'room', inboxes);
      for (const [index, inbox] of inboxes.entries()) {
        assert.equal(inbox.of('msg').length, 500, `inbox ${index}`);
        const seqs = sequences(inbox);
        assert.deepEqual(seqs.get('p1'), range(0, 250), `inbox ${index}, publisher p1`);
        assert.deepEqual(seqs.get('p2'), range(0, 250), `inbox ${index}, publisher p2`);
      }
    } finally {
      await stopInboxes(inboxes);
      await Promise.all(publishers.map((publisher) => publisher.stop()));
      await stopClones(clones);
    }
  });

  test('a subscriber of several target groups gets one copy; a publish to all groups reaches everyone once', async () => {
    let clones: Clone[] = [];
    const both: Inbox[] = [];
    const second: Inbox[] = [];
    const other: Inbox[] = [];
    let publisher: Client | undefined;
    try {
      clones = await startMesh(['t1', 't2', 't3']);
      for (const clone of clones) {
        both.push(await startInbox(clone.url, ['ga', 'gb']));
        second.push(await startInbox(clone.url, ['gb']));
        other.push(await startInbox(clone.url, ['gc']));
      }
      const all = [...both, ...second, ...other];
      publisher = new Client({ url: clones[1]?.url ?? '', reconnect: false, silent: true });
      await publisher.start();
      await awaitInterest(prober(publisher, ['ga', 'gb', 'gc']), all);
      publishNumbered(publisher, 'two', ['ga', 'gb'], 0, 20);
      await flush([publisher], ['ga', 'gb'], [...both, ...second]);
      for (const inbox of [...both, ...second])
        assert.deepEqual(sequences(inbox).get('two'), range(0, 20));
      for (const inbox of other) assert.equal(sequences(inbox).get('two'), undefined);
      // No target: every group, on every clone.
      for (let n = 0; n < 10; n++)
        void publisher.sendMesToGroup({ route: 'msg', data: { p: 'all', n } });
      await flush([publisher], ['ga', 'gb', 'gc'], all);
      for (const inbox of all) assert.deepEqual(sequences(inbox).get('all'), range(0, 10));
    } finally {
      await stopInboxes([...both, ...second, ...other]);
      await publisher?.stop();
      await stopClones(clones);
    }
  });

  test('notSendMe excludes only the publisher, on every clone', async () => {
    let clones: Clone[] = [];
    const inboxes: Inbox[] = [];
    try {
      clones = await startMesh(['n1', 'n2', 'n3']);
      for (const clone of clones) inboxes.push(await startInbox(clone.url, ['chat']));
      const first = clones[0];
      assert.ok(first);
      const publisher = await startInbox(first.url, ['chat']);
      inboxes.push(publisher);
      await awaitInterest(prober(publisher.client, 'chat'), inboxes);
      for (let n = 0; n < 20; n++) {
        void publisher.client.sendMesToGroup({
          id: 'chat',
          route: 'msg',
          data: { p: 'me', n },
          notSendMe: true,
        });
      }
      await flush([publisher.client], 'chat', inboxes);
      for (const inbox of inboxes.slice(0, 3))
        assert.deepEqual(sequences(inbox).get('me'), range(0, 20));
      assert.equal(sequences(publisher).get('me'), undefined, 'the publisher got its own message');
    } finally {
      await stopInboxes(inboxes);
      await stopClones(clones);
    }
  });

  test('deleting a group on one clone deletes it on every clone', async () => {
    let clones: Clone[] = [];
    const inboxes: Inbox[] = [];
    let publisher: Client | undefined;
    try {
      clones = await startMesh(['x1', 'x2', 'x3', 'x4']);
      for (const clone of clones) clone.server.groups.add({ id: 'persistent' });
      for (const clone of clones.slice(0, 3))
        inboxes.push(await startInbox(clone.url, ['room', 'marker']));
      publisher = new Client({ url: clones[0]?.url ?? '', reconnect: false, silent: true });
      await publisher.start();
      await awaitInterest(prober(publisher, 'room'), inboxes);
      await awaitInterest(prober(publisher, 'marker'), inboxes);
      const last = clones[3];
      assert.ok(last);
      last.server.groups.delete({ id: 'persistent' });
      last.server.groups.delete({ id: 'room' }); // no subscriber on this clone: only remote ones
      await waitFor(
        () =>
          clones.every(
            (clone) =>
              clone.server.groups.get({ id: 'persistent' }) === undefined &&
              clone.server.groups.get({ id: 'room' }) === undefined,
          ),
        5000,
        'groups deleted everywhere',
      );
      // The subscribers were removed with the group: nothing reaches them any more. A marker
      // to another group, sent after, takes the same path and arrives after them.
      publishNumbered(publisher, 'after', 'room', 0, 5);
      await deliverMarker([publisher], 'marker', inboxes);
      for (const inbox of inboxes) assert.equal(sequences(inbox).get('after'), undefined);
    } finally {
      await stopInboxes(inboxes);
      await publisher?.stop();
      await stopClones(clones);
    }
  });

  test('interest-based relay: a message crosses a link only towards clones with subscribers', async () => {
    let clones: Clone[] = [];
    const inboxes: Inbox[] = [];
    let publisher: Client | undefined;
    try {
      clones = await startMesh(['i1', 'i2', 'i3']);
      const [a, b, c] = clones;
      assert.ok(a && b && c);
      const onA = await startInbox(a.url, ['only-a']);
      inboxes.push(onA);
      // Only to show that what b sent before it reached c.
      const markerOnC = await startInbox(c.url, ['c-marker']);
      inboxes.push(markerOnC);
      publisher = new Client({ url: b.url, reconnect: false, silent: true });
      await publisher.start();
      await awaitInterest(prober(publisher, 'only-a'), [onA]);
      const outB = b.server.clones.relayStats.relayedOut;
      const inA = a.server.clones.relayStats.relayedIn;
      publishNumbered(publisher, 'b', 'only-a', 0, 50);
      // A group nobody subscribes to anywhere costs no frame at all.
      for (let n = 0; n < 50; n++)
        void publisher.sendMesToGroup({ id: 'nobody', route: 'msg', data: n });
      await flush([publisher], 'only-a', [onA]);
      assert.deepEqual(sequences(onA).get('b'), range(0, 50));
      assert.equal(b.server.clones.relayStats.relayedOut - outB, 51); // 50 messages and the marker
      assert.equal(a.server.clones.relayStats.relayedIn - inA, 51);
      assert.deepEqual(c.server.clones.relayStats, { relayedOut: 0, relayedIn: 0 });
      await awaitInterest(prober(publisher, 'c-marker'), [markerOnC]);
      // Interest changes are pushed: a subscriber on c makes c receive, its departure stops it.
      const onC = await startInbox(c.url, ['only-a']);
      inboxes.push(onC);
      await awaitInterest(prober(publisher, 'only-a'), [onC]);
      assert.ok(c.server.clones.relayStats.relayedIn > 0);
      await onC.client.stop();
      await waitFor(
        async () => {
          const seen = c.server.clones.relayStats.relayedIn;
          await publisher?.sendMesToGroup({ id: 'only-a', route: 'probe', awaitRes: true });
          if (publisher !== undefined) await deliverMarker([publisher], 'c-marker', [markerOnC]);
          // The marker is the only message relayed to c.
          return c.server.clones.relayStats.relayedIn === seen + 1;
        },
        5000,
        'c no longer receives',
      );
    } finally {
      await stopInboxes(inboxes);
      await publisher?.stop();
      await stopClones(clones);
    }
  });

  test('a link down in a 3-clone mesh: messages go through the third clone, exactly once, in order', async (t) => {
    const cleanup = new Cleanup();
    try {
      // Only the link between l1 and l3 goes through the proxy: l3 has no url of its own, so it
      // dials every clone, and l1's announced url is the proxy. l1 dials l2 directly.
      const l1Port = await getFreePort();
      const proxy = await startTcpProxy(l1Port);
      cleanup.add(() => proxy.close());
      const l1 = await startClone('l1', { port: l1Port, url: `ws://127.0.0.1:${proxy.port}` });
      cleanup.add(() => l1.server.stop());
      const l2 = await startClone('l2');
      cleanup.add(() => l2.server.stop());
      const l3 = await startClone('l3', { url: undefined });
      cleanup.add(() => l3.server.stop());
      const clones = [l1, l2, l3];
      l1.server.addClone({ id: 'l2', url: l2.url });
      l3.server.addClone({ id: 'l1', url: `ws://127.0.0.1:${proxy.port}` });
      l3.server.addClone({ id: 'l2', url: l2.url });
      await waitFor(() => linkedAll(clones), 5000, 'mesh');
      assert.ok(proxy.forwarded >= 1, 'the l1-l3 link goes through the proxy');

      const inboxes: Inbox[] = [];
      for (const clone of clones)
        inboxes.push(await startInbox(`ws://127.0.0.1:${clone.port}`, ['room']));
      cleanup.add(() => stopInboxes(inboxes));
      const pub1 = new Client({ url: `ws://127.0.0.1:${l1.port}`, reconnect: false, silent: true });
      const pub3 = new Client({ url: `ws://127.0.0.1:${l3.port}`, reconnect: false, silent: true });
      await Promise.all([pub1.start(), pub3.start()]);
      cleanup.add(() => Promise.all([pub1.stop(), pub3.stop()]));
      await awaitInterest(prober(pub1, 'room'), inboxes);
      await awaitInterest(prober(pub3, 'room'), inboxes);

      // 1. Full mesh.
      publishNumbered(pub1, 'p1', 'room', 0, 100);
      publishNumbered(pub3, 'p3', 'room', 0, 100);
      await flush([pub1, pub3], 'room', inboxes);

      // 2. Cut l1-l3 while messages flow: some may be lost on the dying link, none duplicated.
      publishNumbered(pub1, 'p1', 'room', 100, 150);
      publishNumbered(pub3, 'p3', 'room', 100, 150);
      proxy.cut();
      publishNumbered(pub1, 'p1', 'room', 150, 200);
      publishNumbered(pub3, 'p3', 'room', 150, 200);
      await waitFor(
        () =>
          !linkedIds(l1.server).includes('l3') &&
          !linkedIds(l3.server).includes('l1') &&
          l1.server.clones.clones.get('l3')?.state === 'routed' &&
          l3.server.clones.clones.get('l1')?.state === 'routed',
        5000,
        'l1 and l3 route through l2',
      );

      // 3. Link down, routes settled: exactly once, in order, through l2.
      const relayedByL2 = l2.server.clones.relayStats.relayedIn;
      publishNumbered(pub1, 'p1', 'room', 200, 300);
      publishNumbered(pub3, 'p3', 'room', 200, 300);
      await flush([pub1, pub3], 'room', inboxes);
      assert.ok(l2.server.clones.relayStats.relayedIn > relayedByL2, 'l2 carried the traffic');

      // 4. Link back.
      const forwarded = proxy.forwarded;
      proxy.restore();
      await waitFor(
        () => linkedAll(clones) && proxy.forwarded > forwarded,
        15_000,
        'l1-l3 relinked',
      );
      publishNumbered(pub1, 'p1', 'room', 300, 400);
      publishNumbered(pub3, 'p3', 'room', 300, 400);
      await flush([pub1, pub3], 'room', inboxes);

      for (const [index, inbox] of inboxes.entries()) {
        for (const name of ['p1', 'p3']) {
          const seq = sequences(inbox).get(name) ?? [];
          const label = `inbox on ${clones[index]?.id ?? index}, publisher ${name}`;
          assert.equal(new Set(seq).size, seq.length, `${label}: duplicates`);
          assert.deepEqual(
            seq.filter((n) => n < 100),
            range(0, 100),
            `${label}: full mesh`,
          );
          assert.deepEqual(
            seq.filter((n) => n >= 200),
            range(200, 400),
            `${label}: link down, then back`,
          );
          const lost = 100 - seq.filter((n) => n >= 100 && n < 200).length;
          if (lost > 0)
            t.diagnostic(`${label}: ${lost} of 100 messages lost while the link was cut`);
        }
      }
    } finally {
      await cleanup.run();
    }
  });

  test('a silent network cut (no FIN) is detected by heartbeats on both sides and traffic detours', async () => {
    const cleanup = new Cleanup();
    try {
      // Same shape as above: only the s1-s3 link (dialed by s3) goes through the proxy.
      const heartbeatInterval = 200;
      const s1Port = await getFreePort();
      const proxy = await startTcpProxy(s1Port);
      cleanup.add(() => proxy.close());
      const proxied = `ws://127.0.0.1:${proxy.port}`;
      const s1 = await startClone('s1', { port: s1Port, url: proxied, heartbeatInterval });
      cleanup.add(() => s1.server.stop());
      const s2 = await startClone('s2', { heartbeatInterval });
      cleanup.add(() => s2.server.stop());
      const s3 = await startClone('s3', { url: undefined, heartbeatInterval });
      cleanup.add(() => s3.server.stop());
      const clones = [s1, s2, s3];
      s1.server.addClone({ id: 's2', url: s2.url });
      s3.server.addClone({ id: 's1', url: proxied });
      s3.server.addClone({ id: 's2', url: s2.url });
      await waitFor(() => linkedAll(clones), 5000, 'mesh');
      const inboxes: Inbox[] = [];
      for (const clone of clones) inboxes.push(await startInbox(clone.url, ['room']));
      cleanup.add(() => stopInboxes(inboxes));
      const pub1 = new Client({ url: s1.url, reconnect: false, silent: true });
      const pub3 = new Client({ url: s3.url, reconnect: false, silent: true });
      await Promise.all([pub1.start(), pub3.start()]);
      cleanup.add(() => Promise.all([pub1.stop(), pub3.stop()]));
      await awaitInterest(prober(pub1, 'room'), inboxes);
      await awaitInterest(prober(pub3, 'room'), inboxes);

      proxy.freeze();
      // Both ends must notice within a few heartbeat intervals, the dialing end included.
      await waitFor(
        () => !linkedIds(s1.server).includes('s3') && !linkedIds(s3.server).includes('s1'),
        10 * heartbeatInterval,
        'both ends dropped the silent link',
      );
      await waitFor(
        () =>
          s1.server.clones.clones.get('s3')?.state === 'routed' &&
          s3.server.clones.clones.get('s1')?.state === 'routed',
        5000,
        's1 and s3 route through s2',
      );
      publishNumbered(pub1, 'p1', 'room', 0, 100);
      publishNumbered(pub3, 'p3', 'room', 0, 100);
      await flush([pub1, pub3], 'room', inboxes);
      for (const inbox of inboxes) {
        assert.deepEqual(sequences(inbox).get('p1'), range(0, 100));
        assert.deepEqual(sequences(inbox).get('p3'), range(0, 100));
      }
    } finally {
      await cleanup.run();
    }
  });

  test('group deletion floods around a cut link', async () => {
    const cleanup = new Cleanup();
    try {
      const z1Port = await getFreePort();
      const proxy = await startTcpProxy(z1Port);
      cleanup.add(() => proxy.close());
      const z1 = await startClone('z1', { port: z1Port, url: `ws://127.0.0.1:${proxy.port}` });
      cleanup.add(() => z1.server.stop());
      const z2 = await startClone('z2');
      cleanup.add(() => z2.server.stop());
      const z3 = await startClone('z3', { url: undefined });
      cleanup.add(() => z3.server.stop());
      z1.server.addClone({ id: 'z2', url: z2.url });
      z3.server.addClone({ id: 'z1', url: `ws://127.0.0.1:${proxy.port}` });
      z3.server.addClone({ id: 'z2', url: z2.url });
      await waitFor(() => linkedAll([z1, z2, z3]), 5000, 'mesh');
      for (const clone of [z1, z2, z3]) clone.server.groups.add({ id: 'doomed' });
      proxy.cut();
      await waitFor(() => !linkedIds(z1.server).includes('z3'), 5000, 'link cut');
      z3.server.groups.delete({ id: 'doomed' });
      await waitFor(
        () =>
          [z1, z2, z3].every((clone) => clone.server.groups.get({ id: 'doomed' }) === undefined),
        5000,
        'deleted on z1 through z2',
      );
    } finally {
      await cleanup.run();
    }
  });
});

// ---------------------------------------------------------------------------------------------

describe('faults and misconfiguration', { concurrency: true }, () => {
  test('two live servers with one id: ERR_DUPLICATE_ID reported, no duplicated deliveries, no hammering', async (t) => {
    let clones: Clone[] = [];
    const inboxes: Inbox[] = [];
    let twin: Clone | undefined;
    let publisher: Client | undefined;
    try {
      clones = await startMesh(['dup', 'dz']);
      const [original, other] = clones;
      assert.ok(original && other);
      inboxes.push(await startInbox(original.url, ['room']));
      inboxes.push(await startInbox(other.url, ['room']));
      publisher = new Client({ url: other.url, reconnect: false, silent: true });
      await publisher.start();
      await awaitInterest(prober(publisher, 'room'), inboxes);
      const attempts = new Attempts();
      other.server.on('auth', ({ clone }) => {
        if (clone.id === 'dup') attempts.note();
      });
      twin = await startClone('dup');
      const twinInbox = await startInbox(twin.url, ['room']);
      inboxes.push(twinInbox);
      twin.server.addClone({ id: 'dz', url: other.url });
      await waitFor(
        () =>
          [...clones, twin].some(
            (clone) => clone !== undefined && errorCodes(clone).includes('ERR_DUPLICATE_ID'),
          ),
        5000,
        'ERR_DUPLICATE_ID reported',
      );
      publishNumbered(publisher, 'dz', 'room', 0, 50);
      await flush([publisher], 'room', inboxes.slice(0, 2));
      for (const inbox of inboxes.slice(0, 2))
        assert.deepEqual(sequences(inbox).get('dz'), range(0, 50));
      assert.equal(
        sequences(twinInbox).get('dz'),
        undefined,
        'the twin must not get the mesh traffic',
      );
      assert.deepEqual(linkedIds(other.server), ['dup']);
      // The refused twin must not redial in a tight loop (cloneInterval 200).
      const gaps = await attempts.gapsOnceSeen(attempts.count + 3);
      t.diagnostic(`twin redialed after ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms`);
      assertBacksOff(gaps, 200);
    } finally {
      await stopInboxes(inboxes);
      await publisher?.stop();
      await twin?.server.stop();
      await stopClones(clones);
    }
  });

  test("a clone that dials in with the server's own id is refused with 4009 and ERR_DUPLICATE_ID", async () => {
    const cleanup = new Cleanup();
    try {
      const clone = await startClone('self');
      cleanup.add(() => clone.server.stop());
      const outcome = await rawHandshake(clone.url, {
        codec: 'msgpack',
        id: 'self',
        kind: 'clone',
        instance: 'other',
      });
      cleanup.add(() => outcome.peer.terminate());
      assert.equal(outcome.closeCode, 4009);
      assert.ok(errorCodes(clone).includes('ERR_DUPLICATE_ID'));
      assert.equal(clone.server.clones.clones.size, 0);
    } finally {
      await cleanup.run();
    }
  });

  test('a known url announced under a new id does not crash anything', async () => {
    const clones: Clone[] = [];
    try {
      const a = await startClone('ua');
      clones.push(a);
      const old = await startClone('ub-old');
      clones.push(old);
      a.server.addClone({ id: 'ub-old', url: old.url });
      await waitFor(() => linkedAll([a, old]), 5000, 'pair');
      await old.server.stop();
      // Same port, same url, new id; it joins through a and a still dials the old id there.
      const renamed = await startClone('ub-new', { port: old.port });
      clones.push(renamed);
      assert.equal(renamed.url, old.url);
      renamed.server.addClone({ id: 'ua', url: a.url });
      await waitFor(() => linkedIds(a.server).join() === 'ub-new', 5000, 'a linked to the new id');
      await waitFor(
        () => errorCodes(a).includes('ERR_CLONE_ID_MISMATCH'),
        5000,
        'old id reported as mismatch',
      );
      assert.deepEqual(knownIds(a.server), ['ub-new', 'ub-old']);
      assert.ok(a.server.active && renamed.server.active);
    } finally {
      await stopClones(clones);
    }
  });

  test('malformed frames on an authenticated clone link are refused without crashing the clone', async () => {
    const cleanup = new Cleanup();
    try {
      const clone = await startClone('mf');
      cleanup.add(() => clone.server.stop());
      const inbox = await startInbox(clone.url, ['g'], { codec: 'json' });
      cleanup.add(() => inbox.client.stop());
      const { peer, welcomed } = await rawHandshake(clone.url, {
        codec: 'msgpack',
        id: 'raw-clone',
        kind: 'clone',
        instance: 'raw',
      });
      cleanup.add(() => peer.terminate());
      assert.ok(welcomed);
      const bad: unknown[] = [
        null,
        'garbage',
        [FrameType.CLONE_SYNC, 'x'],
        [FrameType.CLONE_UPDATE, { id: 'z' }],
        [FrameType.CLONE_RELAY, 'o', 1, null, 'g', 'not bytes'],
        [FrameType.CLONE_RELAY, 'o', 2, null, 'g', Buffer.from([0xc1, 0xff, 0x00])],
        [
          FrameType.CLONE_RELAY,
          'o',
          3,
          null,
          'g',
          rawPackr.pack([FrameType.MESSAGE, 1, 'r', null, 1]),
        ],
      ];
      for (const frame of bad) peer.send(frame);
      // A good relay behind them still works: the link survived, in order.
      peer.send([
        FrameType.CLONE_RELAY,
        'o',
        4,
        null,
        'g',
        rawPackr.pack([FrameType.GROUP_MESSAGE, 'g', 'msg', null, { p: 'raw', n: 0 }]),
      ]);
      await waitFor(() => inbox.of('msg').length === 1, 5000, 'the good relay delivered');
      assert.deepEqual(sequences(inbox).get('raw'), [0]);
      assert.ok(peer.open, 'the clone link stays open');
      assert.ok(inbox.client.connected, 'the subscriber stays connected');
      assert.ok(clone.server.active);
      assert.ok(clone.errors.length > 0, 'the bad frames were reported');
    } finally {
      await cleanup.run();
    }
  });

  test('a url that answers with another id is reported as ERR_CLONE_ID_MISMATCH and not used', async (t) => {
    const clones: Clone[] = [];
    try {
      const real = await startClone('real');
      clones.push(real);
      const dialer = await startClone('asker');
      clones.push(dialer);
      // The dialer hangs up at CHALLENGE (the id is wrong), before AUTH: `real` never sees an
      // authenticated attempt, so attempts are counted where the dialer reports them.
      const attempts = new Attempts();
      dialer.server.on('error', ({ error }) => {
        if ((error as { code?: unknown }).code === 'ERR_CLONE_ID_MISMATCH') attempts.note();
      });
      const authenticated: string[] = [];
      real.server.on('auth', ({ clone }) => authenticated.push(clone.id));
      dialer.server.addClone({ id: 'expected', url: real.url });
      await waitFor(
        () => errorCodes(dialer).includes('ERR_CLONE_ID_MISMATCH'),
        5000,
        'mismatch reported',
      );
      const gaps = await attempts.gapsOnceSeen(4);
      t.diagnostic(`redialed after ${gaps.map((gap) => gap.toFixed(0)).join(', ')} ms`);
      assertBacksOff(gaps, 200);
      assert.deepEqual(linkedIds(dialer.server), []);
      assert.deepEqual(knownIds(dialer.server), ['expected']);
      assert.notEqual(dialer.server.clones.clones.get('expected')?.state, 'linked');
      assert.ok(!knownIds(real.server).includes('expected'));
      assert.deepEqual(authenticated, [], 'no AUTH ever reached the wrong server');
    } finally {
      await stopClones(clones);
    }
  });
});
