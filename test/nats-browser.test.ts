/**
 * Clients that do not know which backplane carries the cluster: a browser client (the bundled
 * WebClient in Debian's Chromium) connected to a node on the NATS backplane receives group
 * messages published by a Node client on another node, and calls a function and a generator
 * that live on another node; the node's dashboard page draws the backplane. The page script
 * has nothing NATS-specific: it is the same client code as on the clone mesh.
 *
 * Without /usr/bin/chromium the suite is skipped, except under CI, where it fails.
 */
import assert from 'node:assert/strict';
import { createServer, type Server as HttpServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { bundleBrowserClient, serveBundleFile, type BundleFile } from '../scripts/bundle.js';
import { Client, type Server } from '../src/index.js';
import { chromiumSuite, launchChromium } from './chromium-helpers.js';
import { stopAll, waitFor, within } from './helpers.js';
import {
  natsServerAvailable,
  startNatsCluster,
  startNatsServer,
  type NatsCluster,
} from './nats-helpers.js';

const TOKEN = 'nats-browser-dashboard';
const suite = chromiumSuite();
const skip = !natsServerAvailable()
  ? 'nats-server is not installed'
  : suite === 'skip'
    ? 'chromium is not installed'
    : false;

/** The page: a WebClient that subscribes, records group messages and calls RPC. */
const PAGE_SCRIPT = `
import { WebClient } from '/wsmesh-client.js';
const t = {
  received: [],
  client: undefined,
  async connect(url) {
    const client = new WebClient({ id: 'page', url, silent: true });
    t.client = client;
    client.addRoute({ route: 'chat', handler: ({ data, mes }) => { t.received.push({ group: mes.group, data }); } });
    await client.start();
    return client.getInfo().serverId;
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
    return { sum, items };
  },
};
window.t = t;
window.ready = true;
`;

const PAGE_HTML = `<!doctype html>
<html><head><meta charset="utf-8"><title>wsmesh on NATS</title><link rel="icon" href="data:,">
<script type="module" src="/test-page.js"></script></head><body>wsmesh on NATS</body></html>`;

async function startPageServer(files: BundleFile[]): Promise<{ http: HttpServer; url: string }> {
  const http = createServer((request, response) => {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    if (pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    } else if (pathname === '/test-page.js') {
      response.writeHead(200, { 'content-type': 'text/javascript' }).end(PAGE_SCRIPT);
    } else if (!serveBundleFile(files, pathname, response)) {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  const port = typeof address === 'object' && address !== null ? address.port : 0;
  return { http, url: `http://127.0.0.1:${port}/` };
}

function run<T>(page: Page, expression: string, label: string): Promise<T> {
  return within(page.evaluate(expression) as Promise<T>, 10_000, label);
}

describe('NATS backplane: a browser client in Chromium', { skip }, () => {
  if (suite === 'fail') {
    test('chromium is installed (CI never skips the browser tests)', () => {
      assert.fail('/usr/bin/chromium is missing and CI is set');
    });
    return;
  }
  let nats: NatsCluster;
  let a: Server;
  let b: Server;
  let publisher: Client;
  let pageServer: { http: HttpServer; url: string };
  let browser: { context: BrowserContext; close(): Promise<void> };
  let page: Page;
  const pageErrors: string[] = [];

  before(async () => {
    const files = await bundleBrowserClient({
      outdir: join(tmpdir(), 'wsmesh-browser-bundle'),
      write: false,
    });
    nats = await startNatsCluster(2);
    const prefix = 'browser';
    ({ server: a } = await startNatsServer(
      nats.urls[0] as string,
      { id: 'A', silent: true, dashboard: { token: TOKEN } },
      { prefix },
    ));
    ({ server: b } = await startNatsServer(
      nats.urls[1] as string,
      { id: 'B', silent: true },
      { prefix },
      (s) => {
        s.origin(
          function add(x: number, y: number) {
            return x + y;
          },
          { namespace: 'math' },
        );
        s.origin({ namespace: 'math' })(async function* countdown(from: number) {
          for (let i = from; i > 0; i--) yield i;
        });
      },
    ));
    await waitFor(() => a.clones.clones.has('B'), 5000, 'A sees B');
    publisher = new Client({ id: 'node-on-B', url: `ws://127.0.0.1:${String(b.port)}/` });
    await publisher.start();
    pageServer = await startPageServer(files);
    browser = await launchChromium();
    page = await browser.context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(pageServer.url);
    await page.waitForFunction('window.ready === true', undefined, { timeout: 10_000 });
  });

  after(async () => {
    const steps: (() => Promise<unknown> | undefined)[] = [
      () => browser?.close(),
      () => stopAll(publisher, a, b),
      () =>
        pageServer === undefined
          ? undefined
          : new Promise<void>((resolve) => {
              pageServer.http.close(() => resolve());
              pageServer.http.closeAllConnections();
            }),
      () => nats?.stop(),
    ];
    for (const step of steps) {
      try {
        await step();
      } catch {
        // Teardown goes on.
      }
    }
  });

  test('receives group messages published on another node', async () => {
    const url = `ws://127.0.0.1:${String(a.port)}/`;
    assert.equal(await run(page, `t.connect(${JSON.stringify(url)})`, 'connect'), 'A');
    assert.deepEqual(await run(page, `t.subscribe('lobby')`, 'subscribe'), ['lobby']);
    // A's NATS subscription reaches B's NATS server within milliseconds: probe until then.
    await waitFor(
      async () => {
        await publisher.sendMesToGroup({ id: 'lobby', route: 'chat', data: 'probe' });
        return run<number>(page, 't.received.length', 'received');
      },
      10_000,
      'first group message through NATS',
      50,
    );
    await publisher.sendMesToGroup({ id: 'lobby', route: 'chat', data: 'hello from B' });
    await waitFor(
      () =>
        run<{ data: unknown }[]>(page, 't.received', 'received').then((all) =>
          all.some((m) => m.data === 'hello from B'),
        ),
      5000,
      'group message from B',
    );
    const all = await run<{ group: string; data: unknown }[]>(page, 't.received', 'received');
    assert.deepEqual(all.at(-1), { group: 'lobby', data: 'hello from B' });
    assert.equal(all.filter((m) => m.data === 'hello from B').length, 1, 'exactly once');
  });

  test('calls a function and a generator of another node', async () => {
    await waitFor(() => a.stats().backplane?.status === 'connected', 5000);
    assert.deepEqual(await run(page, 't.rpc()', 'rpc'), { sum: 5, items: [3, 2, 1] });
    assert.ok((b.stats().backplane?.callsIn ?? 0) >= 2, 'B served the calls');
    assert.deepEqual(pageErrors, []);
  });

  test("the node's dashboard draws the backplane", async () => {
    const dashboard = await browser.context.newPage();
    try {
      await dashboard.goto(`http://127.0.0.1:${String(a.port)}/_wsmesh`);
      await dashboard.fill('input[name=token]', TOKEN);
      await dashboard.click('form button');
      await dashboard.waitForFunction(
        () =>
          document.querySelectorAll('#graph line.edge.backplane').length === 1 &&
          !(document.getElementById('backplane-panel')?.hidden ?? true) &&
          (document.getElementById('backplane')?.textContent ?? '').includes('connected'),
        undefined,
        { timeout: 10_000 },
      );
      const text = await dashboard.locator('#backplane').textContent();
      assert.match(text ?? '', /nats/);
      assert.match((await dashboard.locator('#cards').textContent()) ?? '', /backplane nats/);
    } finally {
      await dashboard.close();
    }
  });
});
