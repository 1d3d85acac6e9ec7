/**
 * The NATS backplane as operators see it: `server.clones`, `/metrics`, the dashboard's state
 * API and `wsmesh inspect` show the other nodes and the backplane's state (kind, link status,
 * NATS server, groups, messages and calls in and out), and follow it when NATS goes away.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { inspectCommand } from '../src/cli/inspect.js';
import { Client, RpcProxy, type Server } from '../src/index.js';
import type { ClusterState } from '../src/ops/cluster-state.js';
import { stopAll, waitFor } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  stopNode,
  type NatsCluster,
} from './nats-helpers.js';

const skip = natsServerAvailable() ? false : 'nats-server is not installed';
const TOKEN = 'nats-ops-dashboard-token';
const OPS = { metrics: true, dashboard: { token: TOKEN }, serverSecret: 'ops-secret' };

async function metricsOf(server: Server): Promise<string> {
  const response = await fetch(`http://127.0.0.1:${String(server.port)}/metrics`);
  assert.equal(response.status, 200);
  return response.text();
}

/** The value of the sample `name{labels}` (labels as written, in order, without `node`). */
function sample(text: string, name: string, labels: string): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const [series, value] = line.split(' ');
    if (series?.includes(labels) === true) return Number(value);
  }
  return undefined;
}

async function stateOf(server: Server): Promise<ClusterState> {
  const response = await fetch(`http://127.0.0.1:${String(server.port)}/_wsmesh/api/state`, {
    headers: { Authorization: `Bearer ${TOKEN}` },
  });
  assert.equal(response.status, 200);
  return (await response.json()) as ClusterState;
}

async function inspect(server: Server): Promise<string> {
  const lines: string[] = [];
  const code = await inspectCommand([`http://127.0.0.1:${String(server.port)}`], {
    out: (line) => lines.push(line),
    err: (line) => lines.push(line),
    env: { WSMESH_DASHBOARD_TOKEN: TOKEN },
  });
  assert.equal(code, 0, lines.join('\n'));
  return lines.join('\n');
}

describe(
  'NATS backplane: nodes and backplane state in stats, metrics, dashboard, inspect',
  { skip },
  () => {
    let nats: NatsCluster;
    before(async () => {
      nats = await startNatsCluster(2);
    });
    after(async () => {
      await nats?.stop();
    });

    test('nodes and backplane traffic are shown everywhere', async () => {
      const prefix = 'ops';
      const a = await startNatsServer(nats.urls[0] as string, { id: 'A', ...OPS }, { prefix });
      const b = await startNatsServer(
        nats.urls[1] as string,
        { id: 'B', ...OPS },
        { prefix },
        (s) => {
          s.origin(function double(n: number) {
            return 2 * n;
          });
        },
      );
      const member = new Client({ id: 'm', url: b.url, reconnect: false });
      let got = 0;
      member.addRoute({ route: 'r', handler: () => void got++ });
      const publisher = new Client({ id: 'p', url: a.url, reconnect: false });
      let proxy: RpcProxy | undefined;
      try {
        await member.start();
        await member.subscribe({ id: 'room' });
        await publisher.start();
        await waitFor(
          () => a.server.clones.clones.has('B') && b.server.clones.clones.has('A'),
          5000,
          'nodes see each other',
        );
        assert.equal(a.server.clones.clones.get('B')?.state, 'linked');
        await waitFor(
          async () => {
            await publisher.sendMesToGroup({ id: 'room', route: 'r', data: 1 });
            return got > 0;
          },
          5000,
          'group message across nodes',
          50,
        );
        proxy = await RpcProxy.create({ url: a.url, serverSecret: 'ops-secret' });
        await waitFor(() => proxy?.functions.some((f) => f.name === 'double'), 5000, 'table');
        assert.equal(await proxy.call('double', 4), 8);

        const stats = a.server.stats();
        assert.equal(stats.clones.known, 1);
        assert.deepEqual(
          stats.clones.peers.map((p) => [p.id, p.state]),
          [['B', 'linked']],
        );
        const backplane = stats.backplane;
        assert.ok(backplane !== null);
        assert.ok(backplane.messagesOut >= 1 && backplane.callsOut >= 1);

        const metrics = await metricsOf(a.server);
        const server = nats.urls[0]?.replace('nats://', '') ?? '';
        assert.equal(sample(metrics, 'wsmesh_backplane_up', 'kind="nats"'), 1);
        assert.equal(
          sample(
            metrics,
            'wsmesh_backplane_info',
            `kind="nats",status="connected",server="${server}"`,
          ),
          1,
        );
        assert.equal(sample(metrics, 'wsmesh_backplane_groups', 'kind="nats"'), 0);
        assert.equal(
          sample(metrics, 'wsmesh_backplane_messages_total', 'kind="nats",direction="out"'),
          backplane.messagesOut,
        );
        assert.equal(
          sample(metrics, 'wsmesh_backplane_calls_total', 'kind="nats",direction="out"'),
          backplane.callsOut,
        );
        assert.equal(sample(metrics, 'wsmesh_clone_link_up', 'peer="B"'), 1);
        const metricsB = await metricsOf(b.server);
        assert.equal(sample(metricsB, 'wsmesh_backplane_groups', 'kind="nats"'), 1);
        assert.ok(
          (sample(metricsB, 'wsmesh_backplane_messages_total', 'direction="in"') ?? 0) >= 1,
        );
        assert.ok((sample(metricsB, 'wsmesh_backplane_calls_total', 'direction="in"') ?? 0) >= 1);

        const state = await stateOf(a.server);
        assert.equal(state.stats.backplane?.kind, 'nats');
        assert.deepEqual(
          state.graph.nodes.map((n) => [n.id, n.kind, n.state]),
          [
            ['A', 'self', 'self'],
            ['B', 'clone', 'linked'],
          ],
        );
        assert.deepEqual(state.graph.edges, [{ from: 'A', to: 'B', kind: 'backplane' }]);

        const text = await inspect(a.server);
        assert.match(text, new RegExp(`^backplane: nats connected to ${server}$`, 'm'));
        assert.match(
          text,
          /^ {2}groups 0 · messages out \d+ \/ in \d+ · calls out \d+ \/ in \d+$/m,
        );
        assert.match(text, /^ {2}B {2}linked/m);
        assert.match(text, /^ {2}A -- B {2}\(through the nats backplane\)$/m);
      } finally {
        await proxy?.close().catch(() => undefined);
        await stopAll(member, publisher, a.server, b.server);
      }
    });

    test('a node whose NATS is gone shows it reconnecting, and stops without hanging', async () => {
      const own = await startNatsCluster(1);
      const { server } = await startNatsServer(own.urls[0] as string, { id: 'LONE', ...OPS });
      try {
        assert.equal(sample(await metricsOf(server), 'wsmesh_backplane_up', 'kind="nats"'), 1);
        await stopNode(own.nodes[0] as NonNullable<(typeof own.nodes)[0]>, 'SIGKILL');
        await waitFor(() => server.stats().backplane?.status === 'reconnecting', 5000, 'noticed');
        const metrics = await metricsOf(server);
        assert.equal(sample(metrics, 'wsmesh_backplane_up', 'kind="nats"'), 0);
        assert.equal(
          sample(metrics, 'wsmesh_backplane_info', 'kind="nats",status="reconnecting",server=""'),
          1,
        );
        assert.match(await inspect(server), /^backplane: nats reconnecting$/m);
      } finally {
        // Stopping while NATS is away does not hang.
        await server.stop();
        await own.stop();
      }
    });
  },
);
