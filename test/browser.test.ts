/**
 * End-to-end tests of the browser client in a real browser: Debian's Chromium driven by
 * playwright-core. A mesh of two clones, a page that loads the bundled browser client
 * (src/browser.ts built with esbuild, served from memory) and a Node client on clone 2.
 *
 * The page connects a `WebClient` with urls [clone1, clone2] and: awaits a reply, answers a
 * request from the server, receives a group message published by the Node client on clone 2,
 * calls RPC functions and iterates a remote generator (over `client.rpc` and
 * `RpcProxy.create`), loads the MessagePack chunk only when a client asks for it, and keeps
 * its subscription when clone 1 stops and it fails over to clone 2.
 *
 * Without /usr/bin/chromium the suite is skipped, except under CI, where it fails.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { bundleBrowserClient, serveBundleFile, type BundleFile } from '../scripts/bundle.js';
import { Client } from '../src/client/client.js';
import { Server } from '../src/server/server.js';
import { waitFor, within } from './helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const SKIP_MESSAGE = 'chromium not installed: skipped browser tests; CI installs it';

/** A clone attached to its own http server on 127.0.0.1 (port 0, so its url is known). */
interface Clone {
  server: Server;
  http: HttpServer;
  url: string;
}

function listen(http: HttpServer): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(0, '127.0.0.1', () => {
      const address = http.address();
      resolve(typeof address === 'object' && address !== null ? address.port : 0);
    });
  });
}

function closeHttp(http: HttpServer): Promise<void> {
  return new Promise((resolve) => {
    if (!http.listening) {
      resolve();
      return;
    }
    http.close(() => resolve());
    http.closeAllConnections();
  });
}

async function startClone(id: string, setup: (server: Server) => void): Promise<Clone> {
  const http = createServer((_request, response) => response.writeHead(404).end());
  const port = await listen(http);
  const url = `ws://127.0.0.1:${port}`;
  const token = 'browser-test-mesh';
  const server = new Server({
    id,
    server: http,
    url,
    cloneInterval: 200,
    silent: true,
    authFnOut: () => token,
    authFnIn: (value) => value === token,
  });
  setup(server);
  await server.start();
  return { server, http, url };
}

async function stopClone(clone: Clone): Promise<void> {
  await clone.server.stop();
  await closeHttp(clone.http);
}

/** What every clone offers: a route that says which clone answered, and RPC functions. */
function setupClone(server: Server): void {
  server.addRoute({
    route: 'math',
    act: 'add',
    handler: ({ data }) => {
      const { a, b } = data as { a: number; b: number };
      return { sum: a + b, server: server.id };
    },
  });
  server.origin(
    function add(a: number, b: number) {
      return a + b;
    },
    { namespace: 'math' },
  );
  server.origin({ namespace: 'math' })(async function* countdown(from: number) {
    for (let i = from; i > 0; i--) yield i;
  });
}

/**
 * The page's side, as a plain script (no TypeScript helpers can leak into it): it imports the
 * bundle and exposes steps on `window.t` that the test calls with `page.evaluate`.
 */
const PAGE_SCRIPT = `
import * as wsmesh from '/wsmesh-client.js';
const { WebClient, RpcProxy } = wsmesh;
const t = {
  wsmesh,
  opens: [],
  closes: [],
  received: [],
  errors: [],
  client: undefined,
  async connect(urls) {
    const client = new WebClient({ id: 'page', url: urls, silent: true, reconnectTimeout: 100 });
    t.client = client;
    client.on('open', ({ serverId }) => t.opens.push(serverId));
    client.on('close', ({ code }) => t.closes.push(code));
    client.on('error', ({ error }) => t.errors.push(error.message));
    client.addRoute({ route: 'chat', handler: ({ data, mes }) => { t.received.push({ group: mes.group, data }); } });
    client.addRoute({ route: 'whoami', handler: () => 'page on ' + navigator.userAgent.split(' ')[0] });
    await client.start();
    return client.getInfo();
  },
  add(a, b) {
    return t.client.sendMes({ route: 'math', act: 'add', data: { a, b }, awaitRes: true });
  },
  async subscribe(id) {
    await t.client.subscribe({ id });
    return t.client.getMyGroups();
  },
  async rpc() {
    const math = await t.client.rpc('math');
    const sum = await math.add(2, 3);
    const items = [];
    for await (const n of math.countdown(3)) items.push(n);
    await math.close();
    return { sum, items, functions: math.functions.map((f) => f.name).sort() };
  },
  async proxy(url) {
    const math = await RpcProxy.create({ url, namespace: 'math' });
    try {
      const items = [];
      for await (const n of math.countdown(4)) items.push(n);
      return { sum: await math.add(20, 22), items };
    } finally {
      await math.close();
    }
  },
  loaded(part) {
    return performance.getEntriesByType('resource').some((entry) => entry.name.includes(part));
  },
  async msgpack(url) {
    const before = t.loaded('/chunks/msgpack');
    const client = new WebClient({ url, codec: 'msgpack', silent: true });
    await client.start();
    try {
      const reply = await client.sendMes({ route: 'math', act: 'add', data: { a: 1, b: 1 }, awaitRes: true });
      return { before, after: t.loaded('/chunks/msgpack'), codec: client.getInfo().codec, reply };
    } finally {
      await client.stop();
    }
  },
  info() {
    return t.client.getInfo();
  },
};
window.t = t;
window.ready = true;
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsmesh browser test</title>
<link rel="icon" href="data:,">
<script type="module" src="/test-page.js"></script></head>
<body>wsmesh browser test</body></html>`;

/** Serves the test page and the bundle on 127.0.0.1 (port 0). */
async function startPageServer(files: BundleFile[]): Promise<{ http: HttpServer; url: string }> {
  const http = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    } else if (pathname === '/test-page.js') {
      response
        .writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' })
        .end(PAGE_SCRIPT);
    } else if (!serveBundleFile(files, pathname, response)) {
      response.writeHead(404).end();
    }
  });
  const port = await listen(http);
  return { http, url: `http://127.0.0.1:${port}/` };
}

/** Evaluates `expression` in the page (awaiting a promise it returns). */
function run<T>(page: Page, expression: string, label: string, ms = 10_000): Promise<T> {
  return within(page.evaluate(expression) as Promise<T>, ms, label);
}

const haveChromium = existsSync(CHROMIUM);
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false';

if (!haveChromium) {
  if (ci) {
    test('chromium is installed (CI never skips the browser tests)', () => {
      assert.fail(`${CHROMIUM} is missing and CI is set: .ci/run must install chromium`);
    });
  } else {
    console.log(`# ${SKIP_MESSAGE}`);
    test('browser client in Chromium', { skip: SKIP_MESSAGE }, () => undefined);
  }
} else
  describe('browser client in Chromium', () => {
    let clone1: Clone;
    let clone2: Clone;
    let nodeClient: Client;
    let pageServer: { http: HttpServer; url: string };
    let context: BrowserContext;
    let page: Page;
    let userDataDir: string;
    const pageErrors: string[] = [];

    before(async () => {
      const files = await bundleBrowserClient({
        outdir: join(tmpdir(), 'wsmesh-browser-bundle'),
        write: false,
      });
      clone1 = await startClone('clone1', setupClone);
      clone2 = await startClone('clone2', setupClone);
      clone2.server.addClone({ id: 'clone1', url: clone1.url });
      await waitFor(
        () =>
          clone1.server.clones.linkedIds().includes('clone2') &&
          clone2.server.clones.linkedIds().includes('clone1'),
        10_000,
        'clones linked',
      );
      nodeClient = new Client({ id: 'node-on-clone2', url: clone2.url, silent: true });
      await within(nodeClient.start(), 5000, 'node client start');
      pageServer = await startPageServer(files);
      userDataDir = mkdtempSync(join(tmpdir(), 'wsmesh-chromium-'));
      context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: CHROMIUM,
        headless: true,
        args: CHROMIUM_ARGS,
      });
      page = await context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      await page.goto(pageServer.url);
      await page.waitForFunction('window.ready === true', undefined, { timeout: 10_000 });
    });

    after(async () => {
      // Each step guarded: a failed `before` leaves some of these unset.
      const steps: (() => Promise<unknown> | undefined)[] = [
        () => page?.close(),
        () => context?.close(),
        () => nodeClient?.stop(),
        () => (clone1 === undefined ? undefined : stopClone(clone1)),
        () => (clone2 === undefined ? undefined : stopClone(clone2)),
        () => (pageServer === undefined ? undefined : closeHttp(pageServer.http)),
      ];
      for (const step of steps) {
        try {
          await step();
        } catch {
          // Teardown goes on.
        }
      }
      if (userDataDir !== undefined) rmSync(userDataDir, { recursive: true, force: true });
    });

    test('connects with urls [clone1, clone2] and awaits a reply', async () => {
      const info = await run<{ connected: boolean; serverId: string; codec: string }>(
        page,
        `t.connect(${JSON.stringify([clone1.url, clone2.url])})`,
        'connect',
      );
      assert.equal(info.connected, true);
      assert.equal(info.serverId, 'clone1');
      assert.equal(info.codec, 'json');
      assert.deepEqual(await run(page, 't.add(2, 3)', 'request'), { sum: 5, server: 'clone1' });
    });

    test('answers a request from the server', async () => {
      const connection = [...clone1.server.clients.values()].find((ws) => ws.clientId === 'page');
      assert.ok(connection !== undefined, 'the page is a client of clone1');
      const answer = await connection.sendMes({ route: 'whoami', awaitRes: true });
      assert.match(String(answer), /^page on Mozilla/);
    });

    test('receives a group message published by a Node client on clone 2', async () => {
      assert.deepEqual(await run(page, `t.subscribe('lobby')`, 'subscribe'), ['lobby']);
      // The subscription reaches clone2's view of the mesh within milliseconds: probe until then.
      await waitFor(
        async () => {
          await nodeClient.sendMesToGroup({ id: 'lobby', route: 'chat', data: 'probe' });
          return run<number>(page, 't.received.length', 'received');
        },
        10_000,
        'first group message through the mesh',
        50,
      );
      await nodeClient.sendMesToGroup({ id: 'lobby', route: 'chat', data: 'hello from clone2' });
      await waitFor(
        () =>
          run<{ data: unknown }[]>(page, 't.received', 'received').then((all) =>
            all.some((m) => m.data === 'hello from clone2'),
          ),
        5000,
        'group message from clone2',
      );
      const last = await run<{ group: string; data: unknown }>(page, 't.received.at(-1)', 'last');
      assert.deepEqual(last, { group: 'lobby', data: 'hello from clone2' });
    });

    test('calls RPC functions and iterates a remote generator', async () => {
      assert.deepEqual(await run(page, 't.rpc()', 'client.rpc'), {
        sum: 5,
        items: [3, 2, 1],
        functions: ['add', 'countdown'],
      });
      assert.deepEqual(await run(page, `t.proxy(${JSON.stringify(clone1.url)})`, 'RpcProxy'), {
        sum: 42,
        items: [4, 3, 2, 1],
      });
    });

    test('loads the MessagePack chunk only for a msgpack client', async () => {
      const result = await run(page, `t.msgpack(${JSON.stringify(clone2.url)})`, 'msgpack client');
      assert.deepEqual(result, {
        before: false,
        after: true,
        codec: 'msgpack',
        reply: { sum: 2, server: 'clone2' },
      });
    });

    test('fails over to clone 2 when clone 1 stops and keeps its subscription', async () => {
      const receivedBefore = await run<number>(page, 't.received.length', 'received');
      await stopClone(clone1);
      const info = await waitFor(
        () =>
          run<{ connected: boolean; serverId: string; groups: string[] }>(
            page,
            't.info()',
            'info',
          ).then((current) =>
            current.connected && current.serverId === 'clone2' ? current : undefined,
          ),
        10_000,
        'page reconnected to clone2',
        50,
      );
      assert.ok(info !== undefined);
      assert.deepEqual(info.groups, ['lobby']);
      assert.deepEqual(await run(page, 't.opens', 'opens'), ['clone1', 'clone2']);
      // No subscribe call from the page: the client restored the group on clone2 by itself.
      await waitFor(
        async () => {
          await nodeClient.sendMesToGroup({ id: 'lobby', route: 'chat', data: 'after failover' });
          const received = await run<{ data: unknown }[]>(page, 't.received', 'received');
          return received.slice(receivedBefore).some((m) => m.data === 'after failover');
        },
        10_000,
        'group message after failover',
        100,
      );
      assert.deepEqual(await run(page, 't.add(4, 5)', 'request after failover'), {
        sum: 9,
        server: 'clone2',
      });
      assert.deepEqual(pageErrors, []);
    });
  });
