/**
 * Clones in separate processes (test/fixtures/clone-node.ts): a clone killed with SIGKILL
 * while a survivor publishes, failover of its clients, its restart on the same port, and a
 * mesh over TLS with a self-signed certificate.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Client } from '../src/client/client.js';
import {
  awaitInterest,
  flush,
  prober,
  publishNumbered,
  range,
  sequences,
  startCloneProcess,
  startInbox,
  stopInboxes,
  type CloneProcess,
  type CloneProcessOptions,
  type Inbox,
} from './clone-helpers.js';
import { delay, getFreePort, waitFor } from './helpers.js';

/** True when every process has a live link to every other (and lists exactly them). */
async function meshLinked(processes: CloneProcess[]): Promise<boolean> {
  const statuses = await Promise.all(processes.map((clone) => clone.status()));
  return statuses.every((status) => {
    const others = processes
      .map((clone) => clone.options.id)
      .filter((id) => id !== status.id)
      .sort()
      .join();
    return (
      [...status.linked].sort().join() === others &&
      status.clones
        .map((clone) => clone.id)
        .sort()
        .join() === others
    );
  });
}

async function stopProcesses(processes: (CloneProcess | undefined)[]): Promise<void> {
  await Promise.all(processes.map((clone) => clone?.stop().catch(() => clone.kill())));
}

/** True when `seq` is strictly increasing (in order, no duplicates). */
function increasing(seq: number[]): boolean {
  return seq.every((n, index) => index === 0 || n > (seq[index - 1] ?? Infinity));
}

describe('three clone processes: one is killed, its clients fail over, it comes back', () => {
  const processes: CloneProcess[] = [];
  const ports = new Map<string, number>();
  const url = (id: string): string => `ws://127.0.0.1:${ports.get(id) ?? 0}`;
  let survivors: Inbox[] = [];
  let refugees: Inbox[] = [];
  let publisher: Client | undefined;
  let publisher2: Client | undefined;
  let published = 0;

  before(async () => {
    for (const id of ['k1', 'k2', 'k3']) ports.set(id, await getFreePort());
    const config = (id: string, peers: string[]): CloneProcessOptions => ({
      id,
      port: ports.get(id) ?? 0,
      peers: peers.map((peer) => ({ id: peer, url: url(peer) })),
      token: 'mesh-secret',
    });
    processes.push(await startCloneProcess(config('k1', [])));
    processes.push(
      ...(await Promise.all([
        startCloneProcess(config('k2', ['k1'])),
        startCloneProcess(config('k3', ['k1'])),
      ])),
    );
    await waitFor(() => meshLinked(processes), 10_000, 'three processes linked', 50);
    survivors = [await startInbox(url('k1'), ['room']), await startInbox(url('k2'), ['room'])];
    // Clients of k3 that know another clone to fail over to.
    const failover = { reconnect: true, reconnectTimeout: 100 };
    refugees = [
      await startInbox([url('k3'), url('k2')], ['room'], failover),
      await startInbox([url('k3'), url('k1')], ['room'], { ...failover, codec: 'msgpack' }),
    ];
    for (const refugee of refugees) assert.equal(refugee.client.getInfo().serverId, 'k3');
    publisher = new Client({ url: url('k1'), reconnect: false, silent: true });
    publisher2 = new Client({ url: url('k2'), reconnect: false, silent: true });
    await Promise.all([publisher.start(), publisher2.start()]);
    await awaitInterest(prober(publisher, 'room'), [...survivors, ...refugees]);
    await awaitInterest(prober(publisher2, 'room'), [...survivors, ...refugees]);
  });

  after(async () => {
    await stopInboxes([...survivors, ...refugees]);
    await publisher?.stop();
    await publisher2?.stop();
    await stopProcesses(processes);
  });

  test('SIGKILL of a clone while a survivor publishes: every message reaches the survivors once, in order', async (t) => {
    assert.ok(publisher && publisher2);
    const killed = processes[2];
    assert.ok(killed);
    let killing: Promise<void> | undefined;
    for (; published < 600; published += 10) {
      publishNumbered(publisher, 'k1', 'room', published, published + 10);
      publishNumbered(publisher2, 'k2', 'room', published, published + 10);
      if (published === 200) killing = killed.kill('SIGKILL');
      await delay(2);
    }
    await killing;
    assert.equal(killed.running, false);
    await flush([publisher, publisher2], 'room', survivors);
    for (const inbox of survivors) {
      assert.deepEqual(sequences(inbox).get('k1'), range(0, 600));
      assert.deepEqual(sequences(inbox).get('k2'), range(0, 600));
    }
    for (const refugee of refugees) {
      const seq = sequences(refugee).get('k1') ?? [];
      t.diagnostic(`a client of the killed clone got ${seq.length} of 600 around the failover`);
    }
  });

  test('clients of the killed clone fail over and keep their subscriptions', async () => {
    assert.ok(publisher);
    await waitFor(
      () =>
        refugees.every(
          (refugee) => refugee.client.connected && refugee.client.getInfo().serverId !== 'k3',
        ),
      10_000,
      'refugees reconnected elsewhere',
    );
    assert.deepEqual(
      refugees.map((refugee) => refugee.client.getInfo().serverId),
      ['k2', 'k1'],
    );
    // They never called subscribe again: the client resubscribed by itself.
    const from = published;
    publishNumbered(publisher, 'k1', 'room', from, from + 100);
    published += 100;
    await flush([publisher], 'room', [...survivors, ...refugees]);
    for (const refugee of refugees) {
      const seq = sequences(refugee).get('k1') ?? [];
      assert.ok(increasing(seq), 'in order, without duplicates, across the failover');
      assert.deepEqual(
        seq.filter((n) => n >= from),
        range(from, from + 100),
      );
    }
  });

  test('the killed clone restarted on the same port rejoins the mesh without user code', async () => {
    assert.ok(publisher);
    // Restarted with no peers at all: the survivors redial it on their own.
    const restarted = await startCloneProcess({
      id: 'k3',
      port: ports.get('k3') ?? 0,
      token: 'mesh-secret',
    });
    processes[2] = restarted;
    await waitFor(() => meshLinked(processes), 15_000, 'mesh healed', 50);
    const newcomer = await startInbox(url('k3'), ['room']);
    survivors.push(newcomer);
    await awaitInterest(prober(publisher, 'room'), [newcomer]);
    const from = published;
    publishNumbered(publisher, 'k1', 'room', from, from + 100);
    published += 100;
    await flush([publisher], 'room', survivors);
    assert.deepEqual(
      (sequences(newcomer).get('k1') ?? []).filter((n) => n >= from),
      range(from, from + 100),
    );
    for (const inbox of survivors.slice(0, 2))
      assert.deepEqual(sequences(inbox).get('k1'), range(0, published));
  });
});

describe('a clone mesh over TLS (wss) with a self-signed certificate', () => {
  let dir: string | undefined;
  const processes: CloneProcess[] = [];
  const inboxes: Inbox[] = [];
  let publisher: Client | undefined;

  after(async () => {
    await stopInboxes(inboxes);
    await publisher?.stop();
    await stopProcesses(processes);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  test('clones dial each other over wss and clients get group messages across the mesh', async (t) => {
    dir = mkdtempSync(join(tmpdir(), 'wsmesh-tls-'));
    const openssl = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ],
      { encoding: 'utf8', timeout: 20_000 },
    );
    if (openssl.error !== undefined || openssl.status !== 0) {
      t.skip(`openssl is not usable here: ${openssl.error?.message ?? openssl.stderr}`);
      return;
    }
    const ca = readFileSync(join(dir, 'cert.pem'));
    const tlsDir = dir;
    const port = new Map<string, number>();
    for (const id of ['s1', 's2', 's3']) port.set(id, await getFreePort());
    const url = (id: string): string => `wss://127.0.0.1:${port.get(id) ?? 0}`;
    const config = (id: string, peers: string[]): CloneProcessOptions => ({
      id,
      port: port.get(id) ?? 0,
      peers: peers.map((peer) => ({ id: peer, url: url(peer) })),
      token: 'tls-secret',
      tlsDir,
    });
    processes.push(await startCloneProcess(config('s1', [])));
    processes.push(
      ...(await Promise.all([
        startCloneProcess(config('s2', ['s1'])),
        startCloneProcess(config('s3', ['s1'])),
      ])),
    );
    await waitFor(() => meshLinked(processes), 10_000, 'TLS mesh linked', 50);

    const tls = { ca };
    for (const id of ['s1', 's2', 's3']) inboxes.push(await startInbox(url(id), ['room'], { tls }));
    inboxes.push(await startInbox(url('s3'), ['room'], { tls, codec: 'msgpack' }));
    publisher = new Client({ url: url('s2'), reconnect: false, silent: true, tls });
    await publisher.start();
    await awaitInterest(prober(publisher, 'room'), inboxes);
    publishNumbered(publisher, 'tls', 'room', 0, 100);
    await flush([publisher], 'room', inboxes);
    for (const inbox of inboxes) assert.deepEqual(sequences(inbox).get('tls'), range(0, 100));

    // The certificate is really checked: a client that does not trust it cannot connect.
    const untrusting = new Client({ url: url('s1'), reconnect: false, silent: true });
    untrusting.on('error', () => undefined);
    await assert.rejects(untrusting.start());
  });
});
