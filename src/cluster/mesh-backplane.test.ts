import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { BackplaneHost } from '../backplane/backplane.js';
import { InvalidArgumentError } from '../errors.js';
import { GroupManager } from '../groups/group-manager.js';
import type { Subscriber } from '../groups/subscriber.js';
import { CloneGroupsObserver } from './clone-groups.js';
import { MeshBackplane, type MeshHost, type MeshLinks } from './mesh-backplane.js';

const server: MeshHost = {
  id: 'self',
  url: undefined,
  backplaneKind: undefined,
  groups: new GroupManager<Subscriber>(),
  cloneOptions: {
    cloneInterval: 60_000,
    maxPayload: 1 << 20,
    maxBufferedBytes: 1 << 20,
    authFnOut: undefined,
    tls: undefined,
    serverSecret: undefined,
    encryption: false,
    clusterAckTimeout: 1000,
    maxClones: 1000,
  },
  emitAuthError: () => undefined,
  reportError: () => undefined,
  logWarning: () => undefined,
};

const links: MeshLinks = {
  attachCloneLink: () => undefined,
  detachCloneLink: () => undefined,
  cloneLinkFrame: () => undefined,
  resolve: () => undefined,
  listRemote: () => [],
};

/** A backplane host that counts `nodesChanged` calls. */
function host(): BackplaneHost & { changes: number } {
  return {
    id: 'self',
    url: null,
    callTimeout: 1000,
    changes: 0,
    deliver: () => 0,
    presence: undefined,
    history: server.groups.history,
    deliverRecovered: () => false,
    groupDeleted: () => undefined,
    nodesChanged() {
      this.changes++;
    },
    functionsChanged: () => undefined,
    localTarget: () => undefined,
    reportError: () => undefined,
  };
}

test('the nodes are the known clones; each join and leave is told through nodesChanged', async () => {
  const mesh = new MeshBackplane(server, links);
  const told = host();
  await mesh.start(told);
  try {
    await assert.rejects(mesh.start(host()), InvalidArgumentError);
    assert.equal(mesh.state().status, 'connected');
    // Port 9 on loopback refuses: the clone stays known while its dial fails.
    mesh.clones.addClone({ id: 'other', url: 'ws://127.0.0.1:9' });
    assert.equal(told.changes, 1);
    assert.deepEqual(
      [...mesh.nodes.values()].map((node) => [node.id, node.url]),
      [['other', 'ws://127.0.0.1:9']],
    );
    mesh.clones.addClone({ id: 'other', url: 'ws://127.0.0.1:9' });
    assert.equal(told.changes, 1, 'adding a known clone again changes nothing');
    mesh.clones.deleteClone({ id: 'other' });
    assert.equal(told.changes, 2);
    assert.equal(mesh.nodes.size, 0);
  } finally {
    await mesh.stop();
  }
  assert.equal(mesh.state().status, 'closed');
});

test('interest is kept while stopped and counted once per group', () => {
  const mesh = new MeshBackplane(server, links);
  mesh.subscribeGroup('a');
  mesh.subscribeGroup('b');
  mesh.unsubscribeGroup('b');
  assert.deepEqual([...mesh.clones.interest], ['a']);
  assert.equal(mesh.state().groups, 1);
});

test('the server telling its interest again at start announces no change', () => {
  const interest = new CloneGroupsObserver({
    publish: () => undefined,
    deleteGroup: () => undefined,
    interestChanged: () => undefined,
  });
  interest.interestAdded('a');
  interest.interestAdded('b');
  interest.interestRemoved('b');
  assert.deepEqual(interest.takeDelta(), { add: ['a'], del: [] });
  interest.interestAdded('a');
  interest.interestRemoved('b');
  assert.equal(interest.pending, 0);
  assert.deepEqual([...interest.groups], ['a']);
});
