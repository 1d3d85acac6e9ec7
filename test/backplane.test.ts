/**
 * The server reaches its cluster through the `Backplane` interface only: a backplane of the
 * test's own, passed as `backplane`, sees every group and RPC exchange, and what it delivers
 * reaches local clients; with no option, the clone mesh's traffic goes through the same
 * interface (MeshBackplane).
 */
import assert from 'node:assert/strict';
import { afterEach, describe, test } from 'node:test';
import type {
  BackplaneDeliveries,
  Backplane,
  BackplaneHost,
  BackplaneMessage,
  BackplaneNode,
  BackplaneState,
} from '../src/backplane/backplane.js';
import { MeshBackplane } from '../src/cluster/mesh-backplane.js';
import type { PresenceMember } from '../src/groups/presence-table.js';
import { InvalidArgumentError } from '../src/index.js';
import { loadCodec } from '../src/protocol/codecs.js';
import { FrameType, type FunctionInfo } from '../src/protocol/frames.js';
import type { CallTarget, PullIterator } from '../src/rpc/call-target.js';
import {
  awaitInterest,
  startInbox,
  startMesh,
  stopClones,
  stopInboxes,
  type Clone,
} from './clone-helpers.js';
import { startServer, stopAll, waitFor } from './helpers.js';

const ECHO: FunctionInfo = { name: 'echo', params: ['x'], arity: 1, maxArgs: 1, kind: 'function' };

/** A backplane that records what the server asks of it and offers one remote function. */
class RecordingBackplane implements Backplane {
  readonly kind = 'recording';
  readonly nodes: ReadonlyMap<string, BackplaneNode> = new Map();
  host: BackplaneHost | undefined;
  readonly calls: string[] = [];
  readonly published: BackplaneMessage[] = [];
  readonly echoed: unknown[] = [];

  start(host: BackplaneHost): Promise<void> {
    this.host = host;
    this.calls.push('start');
    return Promise.resolve();
  }

  stop(): Promise<void> {
    this.calls.push('stop');
    return Promise.resolve();
  }

  subscribeGroup(groupId: string): void {
    this.calls.push(`subscribe ${groupId}`);
  }

  unsubscribeGroup(groupId: string): void {
    this.calls.push(`unsubscribe ${groupId}`);
  }

  publish(message: BackplaneMessage): void {
    this.published.push({ target: message.target, payload: message.payload });
  }

  deleteGroup(groupId: string): void {
    this.calls.push(`delete ${groupId}`);
  }

  confirmGroup(groupId: string): Promise<string[]> {
    this.calls.push(`confirm ${groupId}`);
    return Promise.resolve([]);
  }

  publishAcked(message: BackplaneMessage): Promise<BackplaneDeliveries> {
    this.publish(message);
    return Promise.resolve({ nodes: {}, missing: [] });
  }

  presenceChanged(groupId: string): void {
    this.calls.push(`presence ${groupId}`);
  }

  fetchPresence(): Promise<PresenceMember[]> {
    return Promise.resolve([]);
  }

  setFunctions(namespace: string, functions: readonly FunctionInfo[]): void {
    this.calls.push(`functions ${namespace} ${functions.map((f) => f.name).join(',')}`);
  }

  listFunctions(namespace: string): FunctionInfo[] {
    return namespace === 'remote' ? [ECHO] : [];
  }

  resolve(namespace: string, name: string): CallTarget | undefined {
    if (namespace !== 'remote' || name !== 'echo') return undefined;
    return {
      info: ECHO,
      remote: true,
      call: (args) => {
        this.echoed.push(args[0]);
        return Promise.resolve(`far:${String(args[0])}`);
      },
      stream: (): PullIterator => {
        throw new Error('no streams here');
      },
    };
  }

  state(): BackplaneState {
    return {
      kind: this.kind,
      status: 'connected',
      server: null,
      groups: 0,
      messagesOut: this.published.length,
      messagesIn: 0,
      callsOut: this.echoed.length,
      callsIn: 0,
    };
  }
}

describe('the Backplane interface is the server’s only way to its cluster', () => {
  test('a backplane given as `backplane` carries interest, publishes, deletions and calls', async () => {
    const backplane = new RecordingBackplane();
    const { server, url } = await startServer({ id: 'bp-node', silent: true, backplane });
    const inbox = await startInbox(url, ['room']);
    try {
      assert.equal(backplane.host?.id, 'bp-node');
      assert.ok(backplane.calls.includes('subscribe room'), backplane.calls.join(' | '));
      for (const add of [
        server.addClone.bind(server),
        server.clones.addClone.bind(server.clones),
      ]) {
        assert.throws(() => add({ id: 'x', url: 'ws://127.0.0.1:1' }), {
          name: InvalidArgumentError.name,
          message: /recording backplane/,
        });
      }
      assert.equal(server.clones.clones.size, 0);

      // A publish here goes out once, as the msgpack GROUP_MESSAGE frame.
      server.groups.sendMes({ id: 'room', route: 'news', data: 1 });
      assert.equal(backplane.published.length, 1);
      const codec = await loadCodec('msgpack');
      const [sent] = backplane.published;
      assert.equal(sent?.target, 'room');
      assert.deepEqual(codec.decode(sent?.payload as Uint8Array), [
        FrameType.GROUP_MESSAGE,
        'room',
        'news',
        null,
        1,
      ]);

      // What the backplane delivers reaches the local subscribers, and is not sent back out.
      const frame = [FrameType.GROUP_MESSAGE, 'room', 'news', null, 'from afar'];
      backplane.host?.deliver({ target: 'room', payload: codec.encode(frame) as Uint8Array });
      await waitFor(() => inbox.of('news').length === 2, 5000, 'both messages delivered');
      assert.deepEqual(
        inbox.of('news').map((m) => m.data),
        [1, 'from afar'],
      );
      assert.equal(backplane.published.length, 1);

      // Functions of other nodes are listed and called through `listFunctions` / `resolve`.
      server.origin((x: number) => x, { namespace: 'local', name: 'same' });
      assert.ok(backplane.calls.includes('functions local same'), backplane.calls.join(' | '));
      const remote = await inbox.client.rpc('remote');
      assert.ok(remote.functions.some((f) => f.name === 'echo'));
      assert.equal(await remote.call('echo', 7), 'far:7');
      assert.deepEqual(backplane.echoed, [7]);

      await inbox.client.unsubscribe({ id: 'room' });
      await waitFor(
        () => backplane.calls.includes('unsubscribe room'),
        5000,
        'unsubscribe reaches the backplane',
      );
      server.groups.delete({ id: 'room' });
      assert.ok(backplane.calls.includes('delete room'));
      backplane.host?.groupDeleted('other');
    } finally {
      await stopInboxes([inbox]);
      await stopAll(server);
    }
    assert.equal(backplane.calls.at(-1), 'stop');
  });

  describe('the clone mesh is the default backplane', () => {
    const restore: (() => void)[] = [];
    afterEach(() => {
      for (const undo of restore.splice(0)) undo();
    });

    /** Counts calls of a MeshBackplane method on every instance. */
    function spy(method: 'publish' | 'subscribeGroup' | 'resolve'): { count: number } {
      const counter = { count: 0 };
      const proto = MeshBackplane.prototype as unknown as Record<string, unknown>;
      const original = proto[method] as (...args: unknown[]) => unknown;
      proto[method] = function (this: MeshBackplane, ...args: unknown[]): unknown {
        counter.count++;
        return original.apply(this, args);
      };
      restore.push(() => {
        proto[method] = original;
      });
      return counter;
    }

    test('group traffic and calls between clones go through MeshBackplane', async () => {
      const publishes = spy('publish');
      const subscribes = spy('subscribeGroup');
      const resolves = spy('resolve');
      const clones = await startMesh(['mbp-a', 'mbp-b']);
      const [a, b] = clones as [Clone, Clone];
      const inbox = await startInbox(b.url, ['room']);
      try {
        assert.ok(subscribes.count >= 1, 'interest went through the backplane');
        assert.equal(a.server.stats().backplane, null, 'the mesh reports in `clones`');
        await awaitInterest(
          (tag) => a.server.groups.sendMes({ id: 'room', route: 'probe', data: tag }),
          [inbox],
        );
        assert.ok(publishes.count >= 1, 'publishes went through the backplane');

        a.server.origin((x: number) => `a:${x}`, { namespace: 'tools', name: 'onA' });
        // Through b's own proxy: the same resolution as its clients' calls.
        const tools = await b.server.rpc('tools');
        await waitFor(() => tools.functions.some((f) => f.name === 'onA'), 5000, 'listed on b');
        const before = resolves.count;
        assert.equal(await tools.call('onA', 2), 'a:2');
        assert.ok(resolves.count > before, 'the call was resolved by the backplane');
      } finally {
        await stopInboxes([inbox]);
        await stopClones(clones);
      }
    });

    test('calls try the mesh before server links; routes leaving the mesh are server-link routes', async () => {
      const serverSecret = 'backplane-test-secret';
      const clones = await startMesh(['mbx-a', 'mbx-b'], { serverSecret });
      const [a, b] = clones as [Clone, Clone];
      const far = await startServer({ id: 'mbx-far', serverSecret, silent: true });
      try {
        far.server.origin(() => 'far', { namespace: 'ext', name: 'only' });
        far.server.origin((x: number) => `far:${x}`, { namespace: 'ext', name: 'where' });
        b.server.origin((x: number) => `b:${x}`, { namespace: 'ext', name: 'where' });
        await b.server.createServerProxy({ url: far.url, namespace: 'ext' });
        const ext = await a.server.rpc('ext');
        await waitFor(() => ext.functions.some((f) => f.name === 'only'), 5000, 'only on a');
        // Only beyond b's server link: a reaches it through b.
        assert.equal(await ext.call('only'), 'far');

        await a.server.createServerProxy({ url: far.url, namespace: 'ext' });
        await waitFor(
          () => a.server.serverLinks().some((l) => l.namespace === 'ext' && l.routes === 2),
          5000,
          'a links to far directly',
        );
        // With a direct link, the one-hop server-link route wins over the route through b:
        // a route leaving the mesh is not the mesh's to resolve.
        const servedByB = b.server.stats().rpc.calls;
        for (let i = 0; i < 10; i++) assert.equal(await ext.call('only'), 'far');
        assert.equal(b.server.stats().rpc.calls, servedByB, 'no call went through b');
        // A function on a clone and beyond a server link: the clone's, every time.
        for (let i = 0; i < 10; i++) assert.equal(await ext.call('where', i), `b:${i}`);
      } finally {
        await stopAll(far.server);
        await stopClones(clones);
      }
    });
  });
});
