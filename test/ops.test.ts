/**
 * Operations without a browser: the Prometheus endpoint (every metric, the same figures as
 * `server.stats()`, per-server registries, token), the HTTP hook on an attached http server,
 * per-function RPC figures, link latency and per-link relay counters, the dashboard API's
 * credentials, and the pluggable logger.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { after, describe, test } from 'node:test';
import { RpcProxy } from '../src/client/node-rpc-proxy.js';
import { InvalidOptionError } from '../src/errors.js';
import type { ClusterState } from '../src/ops/cluster-state.js';
import { Sessions } from '../src/ops/http-auth.js';
import type { DashboardOption } from '../src/ops/ops-options.js';
import { METRIC_NAMES } from '../src/ops/metrics.js';
import { Server } from '../src/server/server.js';
import { awaitInterest, startInbox, startMesh, stopClones, stopInboxes } from './clone-helpers.js';
import { Cleanup, startClient, startServer, waitFor } from './helpers.js';

/** Parses an exposition into `name{labels}` → value (labels as printed). */
function parseMetrics(text: string): Map<string, number> {
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const at = line.lastIndexOf(' ');
    values.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return values;
}

/** The value of the series `name` whose labels include every `key="value"` in `labels`. */
function metric(values: Map<string, number>, name: string, labels: string[] = []): number {
  for (const [series, value] of values) {
    const [seriesName] = series.split('{');
    if (seriesName === name && labels.every((label) => series.includes(label))) return value;
  }
  throw new Error(`no series ${name} ${labels.join(',')}`);
}

async function getMetrics(port: number, path = '/metrics', token?: string): Promise<Response> {
  return fetch(`http://127.0.0.1:${port}${path}`, {
    headers: token === undefined ? {} : { Authorization: `Bearer ${token}` },
  });
}

describe('metrics', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test('/metrics exports every figure, equal to server.stats()', async () => {
    const clones = await startMesh(['m-a', 'm-b'], { metrics: true });
    cleanup.add(() => stopClones(clones));
    const [a, b] = clones;
    assert.ok(a !== undefined && b !== undefined);
    a.server.origin(
      function add(x: number, y: number) {
        return x + y;
      },
      { namespace: 'math' },
    );
    a.server.origin(
      function fail() {
        throw new Error('no');
      },
      { namespace: 'math' },
    );
    a.server.origin(
      function* count(n: number) {
        for (let i = 0; i < n; i++) yield i;
      },
      { namespace: 'math' },
    );
    a.server.addRoute({ route: 'echo', handler: ({ data }) => data });
    const inbox = await startInbox(b.url, ['room']);
    cleanup.add(() => stopInboxes([inbox]));
    const client = await startClient(a.url, { silent: true });
    cleanup.add(() => client.stop());
    await client.sendMes({ route: 'echo', data: 1, awaitRes: true });
    await awaitInterest(
      (tag) => client.sendMesToGroup({ id: 'room', route: 'probe', data: tag }),
      [inbox],
    );
    const math = await RpcProxy.create({ url: a.url, namespace: 'math' });
    cleanup.add(() => math.close());
    assert.equal(await math.call('add', 2, 3), 5);
    await assert.rejects(math.call('fail'));
    const items: unknown[] = [];
    for await (const item of math.stream('count', 3)) items.push(item);
    assert.deepEqual(items, [0, 1, 2]);
    await assert.rejects(math.call('unknown-function'));

    const response = await getMetrics(a.port);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    const stats = a.server.stats();
    for (const name of METRIC_NAMES) assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'));
    const values = parseMetrics(text);
    assert.equal(metric(values, 'wsmesh_clients', ['node="m-a"']), stats.clients);
    assert.equal(metric(values, 'wsmesh_sockets'), stats.sockets);
    assert.equal(metric(values, 'wsmesh_messages_in_total'), stats.messagesIn);
    assert.equal(metric(values, 'wsmesh_publishes_total'), stats.publishes);
    assert.equal(metric(values, 'wsmesh_group_deliveries_total'), stats.deliveries);
    assert.equal(metric(values, 'wsmesh_groups'), stats.groups);
    assert.equal(metric(values, 'wsmesh_clones_linked'), 1);
    assert.equal(metric(values, 'wsmesh_clones_known'), 1);
    assert.equal(metric(values, 'wsmesh_clone_relayed_out_total'), stats.clones.relayedOut);
    assert.ok(stats.clones.relayedOut >= 1);
    assert.equal(metric(values, 'wsmesh_clone_link_up', ['peer="m-b"']), 1);
    const peer = stats.clones.peers.find((entry) => entry.id === 'm-b');
    assert.ok(peer !== undefined && peer.relayFramesOut >= 1);
    assert.equal(
      metric(values, 'wsmesh_clone_link_relay_frames_total', ['peer="m-b"', 'direction="out"']),
      peer.relayFramesOut,
    );
    assert.equal(metric(values, 'wsmesh_rpc_calls_total'), stats.rpc.calls);
    assert.equal(metric(values, 'wsmesh_rpc_errors_total'), stats.rpc.errors);
    assert.equal(stats.rpc.calls, 4);
    assert.equal(stats.rpc.errors, 2);
    // Per function: the unknown one is only in the totals.
    assert.deepEqual(
      stats.rpc.functions.map((fn) => [fn.name, fn.calls, fn.errors]),
      [
        ['add', 1, 0],
        ['count', 1, 0],
        ['fail', 1, 1],
      ],
    );
    for (const fn of stats.rpc.functions) {
      const labels = [`namespace="math"`, `function="${fn.name}"`];
      assert.equal(metric(values, 'wsmesh_rpc_function_calls_total', labels), fn.calls);
      assert.equal(metric(values, 'wsmesh_rpc_function_errors_total', labels), fn.errors);
      assert.equal(metric(values, 'wsmesh_rpc_call_duration_seconds_count', labels), fn.calls);
      assert.equal(
        metric(values, 'wsmesh_rpc_call_duration_seconds_bucket', [...labels, 'le="+Inf"']),
        fn.calls,
      );
      assert.equal(
        metric(values, 'wsmesh_rpc_call_duration_seconds_bucket', [...labels, 'le="10"']),
        fn.buckets.at(-1),
      );
      assert.equal(
        metric(values, 'wsmesh_rpc_call_duration_seconds_sum', labels),
        fn.durationSeconds,
      );
    }
    assert.ok(!text.includes('unknown-function'));
    // Per route: the echo request in, the probe publishes out (once each, not per delivery).
    const echo = stats.routes.find((route) => route.route === 'echo');
    assert.deepEqual(echo, { route: 'echo', in: 1, out: 0 });
    const probe = stats.routes.find((route) => route.route === 'probe');
    assert.ok(probe !== undefined && probe.out >= 1 && probe.in === 0);
    for (const route of stats.routes) {
      const labels = [`route="${route.route}"`];
      assert.equal(
        metric(values, 'wsmesh_route_messages_total', [...labels, 'direction="in"']),
        route.in,
      );
      assert.equal(
        metric(values, 'wsmesh_route_messages_total', [...labels, 'direction="out"']),
        route.out,
      );
    }
    // The receiving clone counted the relay frame from its neighbour.
    const inbound = b.server.stats().clones.peers.find((entry) => entry.id === 'm-a');
    assert.ok(inbound !== undefined && inbound.relayFramesIn >= 1);
  });

  test('servers in one process keep separate registries; a token guards /metrics', async () => {
    const one = await startServer({ id: 'reg-1', metrics: { token: 'metrics-token-1' } });
    cleanup.add(() => one.server.stop());
    const two = await startServer({ id: 'reg-2', metrics: true, path: '/chat' });
    cleanup.add(() => two.server.stop());
    assert.equal((await getMetrics(one.port)).status, 401);
    assert.equal((await getMetrics(one.port, '/metrics', 'wrong-token')).status, 401);
    // Only the Bearer header: a token in the url (which ends up in logs) or a cookie is refused.
    const inUrl = await fetch(`http://127.0.0.1:${one.port}/metrics?token=metrics-token-1`);
    assert.equal(inUrl.status, 401);
    const inCookie = await fetch(`http://127.0.0.1:${one.port}/metrics`, {
      headers: { cookie: 'wsmesh_dashboard=metrics-token-1' },
    });
    assert.equal(inCookie.status, 401);
    const guarded = await getMetrics(one.port, '/metrics', 'metrics-token-1');
    assert.equal(guarded.status, 200);
    assert.match(await guarded.text(), /wsmesh_clients\{node="reg-1"\} 0/);
    // Under the endpoint's path; the root path is not served by that server.
    const open = await getMetrics(two.port, '/chat/metrics');
    assert.equal(open.status, 200);
    assert.match(await open.text(), /wsmesh_clients\{node="reg-2"\} 0/);
    assert.equal((await getMetrics(two.port, '/metrics')).status, 426);
  });

  test('an attached http server serves the pages through server.handleHttp', async () => {
    // The handler needs the server, and the server needs the http server.
    const holder: { server?: Server } = {};
    const http: HttpServer = createServer((request, response) => {
      if (holder.server?.handleHttp(request, response) === true) return;
      response.writeHead(404).end('app 404');
    });
    const attached = new Server({
      id: 'attached',
      server: http,
      metrics: true,
      dashboard: { token: 'attached-token' },
    });
    holder.server = attached;
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanup.add(
      () =>
        new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        }),
    );
    cleanup.add(() => attached.stop());
    const address = http.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    await attached.start();
    assert.equal((await getMetrics(port)).status, 200);
    const other = await fetch(`http://127.0.0.1:${port}/elsewhere`);
    assert.equal(other.status, 404);
    assert.equal(await other.text(), 'app 404');
    const state = await getMetrics(port, '/_wsmesh/api/state', 'attached-token');
    assert.equal(state.status, 200);
    const body = (await state.json()) as ClusterState;
    assert.equal(body.node.id, 'attached');
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
  });
});

describe('route counters', () => {
  test('routes the server has, (unrouted), (none), server sends, group publishes, and a cap', async () => {
    const { server, url } = await startServer({ silent: true }, (created) => {
      created.addRoute({ route: 'known', handler: () => 'ok' });
      created.addRoute({ handler: () => 'caught' }); // catch-all: unknown routes are answered
    });
    const client = await startClient(url, { silent: true });
    try {
      await client.sendMes({ route: 'known', awaitRes: true });
      await client.sendMes({ route: 'known', awaitRes: true });
      await client.sendMes({ awaitRes: true });
      for (let index = 0; index < 150; index++)
        await client.sendMes({ route: `made-up-${index}`, awaitRes: true });
      const ws = [...server.clients.values()][0];
      assert.ok(ws !== undefined);
      await ws.sendMes({ route: 'notice', data: 1 });
      server.groups.sendMes({ id: 'nobody', route: 'news', data: 1 });
      const byRoute = new Map(server.stats().routes.map((route) => [route.route, route]));
      assert.deepEqual(byRoute.get('known'), { route: 'known', in: 2, out: 0 });
      assert.deepEqual(byRoute.get('(none)'), { route: '(none)', in: 1, out: 0 });
      // A client inventing routes adds one label, whatever it sends.
      assert.deepEqual(byRoute.get('(unrouted)'), { route: '(unrouted)', in: 150, out: 0 });
      assert.equal(byRoute.get('notice')?.out, 1);
      assert.equal(byRoute.get('news')?.out, 1);
      // Server-chosen routes past the cap share one label.
      for (let index = 0; index < 120; index++)
        await ws.sendMes({ route: `topic-${index}`, data: 1 });
      const routes = server.stats().routes;
      assert.ok(routes.length <= 101, `at most 100 labels and (other), got ${routes.length}`);
      const other = routes.find((route) => route.route === '(other)');
      assert.ok(other !== undefined && other.out > 0);
      assert.equal(
        routes.reduce((sum, route) => sum + route.out, 0),
        122,
        'every message is counted once',
      );
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

describe('dashboard API', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test('needs a token of its own: the server secret never stands in for it', () => {
    const asOption = (value: unknown): DashboardOption => value as DashboardOption;
    assert.throws(() => new Server({ dashboard: asOption(true) }), InvalidOptionError);
    assert.throws(
      () => new Server({ serverSecret: 'cluster-secret', dashboard: asOption(true) }),
      /dashboard needs a token of its own/,
    );
    assert.throws(
      () => new Server({ serverSecret: 'cluster-secret', dashboard: asOption({ history: 10 }) }),
      InvalidOptionError,
    );
    assert.throws(() => new Server({ dashboard: { token: 'short' } }), InvalidOptionError);
    assert.throws(() => new Server({ metrics: 'yes' as unknown as boolean }), InvalidOptionError);
  });

  test('state: functions and where they live, server links, latency; the secret is no token', async () => {
    const secret = 'dashboard-secret';
    const token = 'hub-dashboard-token';
    const hub = await startServer({
      id: 'hub',
      serverSecret: secret,
      dashboard: { token, sampleInterval: 50 },
    });
    cleanup.add(() => hub.server.stop());
    const leaf = await startServer({ id: 'leaf', serverSecret: secret });
    cleanup.add(() => leaf.server.stop());
    leaf.server.origin(
      function far() {
        return 'far';
      },
      { namespace: 'pub' },
    );
    hub.server.origin(
      function near() {
        return 'near';
      },
      { namespace: 'pub' },
    );
    await hub.server.createServerProxy({ url: leaf.url, namespace: 'pub' });
    const state = await waitFor(
      async () => {
        const response = await getMetrics(hub.port, '/_wsmesh/api/state', token);
        assert.equal(response.status, 200);
        const body = (await response.json()) as ClusterState;
        const far = body.namespaces
          .find((ns) => ns.name === 'pub')
          ?.functions.find((fn) => fn.name === 'far');
        return far !== undefined && body.rates.points.length > 0 ? body : undefined;
      },
      5000,
      'far learned and rates sampled',
    );
    assert.ok(state !== undefined);
    const pub = state.namespaces.find((ns) => ns.name === 'pub');
    assert.deepEqual(
      pub?.functions.map((fn) => [fn.name, fn.places]),
      [
        ['far', [{ local: false, via: 'leaf', path: ['leaf'] }]],
        ['near', [{ local: true }]],
      ],
    );
    assert.deepEqual(
      state.serverLinks.map((link) => [link.peerId, link.namespace, link.direction]),
      [['leaf', 'pub', 'out']],
    );
    assert.deepEqual(
      state.graph.edges.map((edge) => [edge.from, edge.to, edge.kind, edge.namespace]),
      [['hub', 'leaf', 'link', 'pub']],
    );
    assert.equal(state.stats.serverLinks, 1);
    // Idle links are timed by their heartbeat PINGs (every second on server links).
    await waitFor(
      () => hub.server.serverLinks().every((link) => link.latencyMs !== null),
      5000,
      'server link latency measured',
    );
    assert.equal((await getMetrics(hub.port, '/_wsmesh/api/state', secret)).status, 401);
    const page = await getMetrics(hub.port, '/_wsmesh', token);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-security-policy') ?? '', /script-src 'sha256-/);
  });

  test('login: the token only in a form body, a random session cookie per login', async () => {
    const token = 'login-dashboard-token';
    // Two servers with the same token: a session of one is worth nothing on the other.
    const one = await startServer({ id: 'login-1', dashboard: { token } });
    cleanup.add(() => one.server.stop());
    const two = await startServer({ id: 'login-2', dashboard: { token } });
    cleanup.add(() => two.server.stop());
    const base = `http://127.0.0.1:${one.port}/_wsmesh`;
    const login = (value: string, headers: Record<string, string> = {}): Promise<Response> =>
      fetch(`${base}/login`, {
        method: 'POST',
        redirect: 'manual',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
        body: new URLSearchParams({ token: value }).toString(),
      });

    // A token in the url opens nothing and sets no cookie.
    for (const path of ['', '/api/state']) {
      const response = await fetch(`${base}${path}?token=${token}`);
      assert.equal(response.status, 401, `${path}?token=`);
      assert.equal(response.headers.get('set-cookie'), null);
    }
    // The login page posts the form to the login path.
    const form = await (await fetch(base)).text();
    assert.match(form, /<form method="post" action="\/_wsmesh\/login">/);

    const wrong = await login('not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.headers.get('set-cookie'), null);
    assert.match(await wrong.text(), /Wrong token/);
    const crossSite = await login(token, { origin: 'http://evil.example' });
    assert.equal(crossSite.status, 403);
    assert.equal(crossSite.headers.get('set-cookie'), null);
    assert.equal((await fetch(`${base}/login`)).status, 405);

    const cookies: string[] = [];
    for (let index = 0; index < 2; index++) {
      const ok = await login(token, { origin: `http://127.0.0.1:${one.port}` });
      assert.equal(ok.status, 303);
      assert.equal(ok.headers.get('location'), '/_wsmesh');
      const setCookie = ok.headers.get('set-cookie') ?? '';
      assert.match(setCookie, /; Path=\/_wsmesh; Max-Age=43200; HttpOnly; SameSite=Strict$/);
      const pair = setCookie.split(';')[0] ?? '';
      assert.match(pair, /^wsmesh_dashboard=[\w-]{43}$/);
      cookies.push(pair);
    }
    const [first = '', second = ''] = cookies;
    assert.notEqual(first, second, 'every login gets its own random session');
    assert.ok(!first.includes(token));
    for (const pair of cookies) {
      const api = await fetch(`${base}/api/state`, { headers: { cookie: pair } });
      assert.equal(api.status, 200);
      const page = await fetch(base, { headers: { cookie: pair } });
      assert.equal(page.status, 200);
      assert.match(await page.text(), /id="graph"/);
    }
    // The session is neither a bearer token nor valid on another server with the same token.
    const value = first.split('=')[1] ?? '';
    assert.equal((await getMetrics(one.port, '/_wsmesh/api/state', value)).status, 401);
    const elsewhere = await fetch(`http://127.0.0.1:${two.port}/_wsmesh/api/state`, {
      headers: { cookie: first },
    });
    assert.equal(elsewhere.status, 401);
    const forged = await fetch(`${base}/api/state`, {
      headers: { cookie: `wsmesh_dashboard=${'A'.repeat(43)}` },
    });
    assert.equal(forged.status, 401);
    // An oversized form is refused without reading it all.
    const huge = await fetch(`${base}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `token=${'x'.repeat(100_000)}`,
    });
    assert.equal(huge.status, 401);
  });

  test('sessions expire and are capped', () => {
    let now = 1000;
    const sessions = new Sessions(500, 3, () => now);
    const ids = [sessions.create(), sessions.create(), sessions.create()];
    assert.ok(ids.every((id) => sessions.valid(id)));
    const fourth = sessions.create();
    assert.equal(sessions.size, 3);
    assert.equal(sessions.valid(ids[0]), false, 'the oldest made room');
    assert.ok(sessions.valid(fourth));
    now += 500;
    assert.equal(sessions.valid(fourth), false, 'expired');
    assert.equal(sessions.valid(undefined), false);
    assert.equal(sessions.valid(''), false);
  });

  test('clone links are timed: latency in stats() and the graph', async () => {
    const clones = await startMesh(['lat-a', 'lat-b'], {
      dashboard: { token: 'latency-token', sampleInterval: 50 },
    });
    cleanup.add(() => stopClones(clones));
    const [a] = clones;
    assert.ok(a !== undefined);
    await waitFor(
      () => a.server.stats().clones.peers.every((peer) => peer.latencyMs !== null),
      5000,
      'clone link latency',
    );
    const response = await getMetrics(a.port, '/_wsmesh/api/state', 'latency-token');
    const body = (await response.json()) as ClusterState;
    assert.equal(typeof body.graph.edges[0]?.latencyMs, 'number');
  });
});

describe('logger', () => {
  test('debug level logs every frame; info level does not; errors go to error', async () => {
    const entries: { level: string; fields: Record<string, unknown>; message: string }[] = [];
    const capture = (level: string) => (fields: Record<string, unknown>, message: string) => {
      entries.push({ level, fields, message });
    };
    let level = 'debug';
    const logger = {
      isLevelEnabled: (wanted: string) => (wanted === 'debug' ? level === 'debug' : true),
      debug: capture('debug'),
      info: capture('info'),
      warn: capture('warn'),
      error: capture('error'),
    };
    const { server, url } = await startServer({ id: 'logged', logger });
    server.addRoute({ route: 'r', handler: () => 'ok' });
    const client = await startClient(url, { silent: true });
    await client.sendMes({ route: 'r', awaitRes: true });
    await client.sendMes({ route: 'nothing-here', awaitRes: true }).catch(() => undefined);
    server.reportError(new Error('reported'));
    await client.stop();
    await server.stop();
    const frames = entries
      .filter((entry) => entry.message === 'frame in')
      .map((entry) => entry.fields['frame']);
    assert.ok(frames.includes('HELLO'), `frames: ${frames.join(',')}`);
    assert.ok(frames.includes('MESSAGE'));
    assert.ok(entries.every((entry) => entry.fields['server'] === 'logged'));
    assert.ok(entries.some((entry) => entry.level === 'error' && entry.message === 'reported'));
    assert.ok(
      entries.some((entry) => entry.level === 'info' && entry.message.startsWith('connection ')),
    );

    entries.length = 0;
    level = 'info';
    const quiet = await startServer({ id: 'quiet', logger });
    const other = await startClient(quiet.url, { silent: true });
    await other.stop();
    await quiet.server.stop();
    assert.equal(entries.filter((entry) => entry.level === 'debug').length, 0);
    assert.ok(entries.length > 0);
    assert.throws(
      () => new Server({ logger: 'console' as unknown as Console }),
      InvalidOptionError,
    );
  });
});
