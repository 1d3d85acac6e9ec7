/**
 * The dashboard in a real browser (Debian's Chromium through playwright-core): a mesh of three
 * clones with `dashboard: { token }`, the page opened on the first one after logging in through
 * its form (the token in the request body, a session cookie back). It must draw three
 * nodes and the three clone links between them (SVG), the functions and groups tables, and,
 * after one clone stops, a graph of two nodes and one link. Screenshots go to
 * test-artifacts/ (gitignored).
 *
 * Without /usr/bin/chromium the suite is skipped, except under CI, where it fails.
 */
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { Client } from '../src/client/client.js';
import { chromiumSuite, launchChromium } from './chromium-helpers.js';
import { startMesh, stopClones, type Clone } from './clone-helpers.js';
import { waitFor, within } from './helpers.js';

const TOKEN = 'dashboard-test-token';
const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));
const SKIP_MESSAGE = 'chromium not installed: skipped the dashboard test; CI installs it';

interface Drawn {
  nodes: { id: string; cls: string }[];
  edges: { from: string; to: string; kind: string }[];
}

/** What the page's SVG graph shows now. */
function drawn(page: Page): Promise<Drawn> {
  return page.evaluate(() => ({
    nodes: Array.from(document.querySelectorAll('#graph g.node')).map((node) => ({
      id: node.getAttribute('data-id') ?? '',
      cls: node.getAttribute('class') ?? '',
    })),
    edges: Array.from(document.querySelectorAll('#graph line.edge')).map((edge) => ({
      from: edge.getAttribute('data-from') ?? '',
      to: edge.getAttribute('data-to') ?? '',
      kind: edge.getAttribute('class') ?? '',
    })),
  }));
}

function pairs(edges: Drawn['edges']): string[] {
  return edges.map((edge) => [edge.from, edge.to].sort().join('-')).sort();
}

const mode = chromiumSuite();
if (mode === 'fail') {
  test('chromium is installed (CI never skips the browser tests)', () => {
    assert.fail('/usr/bin/chromium is missing and CI is set: .ci/run must install chromium');
  });
} else if (mode === 'skip') {
  console.log(`# ${SKIP_MESSAGE}`);
  test('dashboard in Chromium', { skip: SKIP_MESSAGE }, () => undefined);
} else
  describe('dashboard in Chromium', () => {
    let clones: Clone[] = [];
    let client: Client | undefined;
    let browser: Awaited<ReturnType<typeof launchChromium>> | undefined;
    let page: Page;
    const pageErrors: string[] = [];

    before(async () => {
      clones = await startMesh(['dash-a', 'dash-b', 'dash-c'], {
        dashboard: { token: TOKEN, sampleInterval: 250 },
      });
      const [a, b] = clones;
      assert.ok(a !== undefined && b !== undefined);
      a.server.origin(
        function add(x: number, y: number) {
          return x + y;
        },
        { namespace: 'math' },
      );
      client = new Client({ url: b.url, silent: true });
      await within(client.start(), 5000, 'client start');
      await client.subscribe({ id: 'lobby' });
      browser = await launchChromium();
      page = await browser.context.newPage();
      page.on('pageerror', (error) => pageErrors.push(error.message));
      mkdirSync(ARTIFACTS, { recursive: true });
    });

    after(async () => {
      const steps: (() => Promise<unknown> | undefined)[] = [
        () => browser?.close(),
        () => client?.stop(),
        () => stopClones(clones),
      ];
      for (const step of steps) {
        try {
          await step();
        } catch {
          // Teardown goes on.
        }
      }
    });

    test('without the token the page asks for it and the API answers 401', async () => {
      const [a] = clones;
      assert.ok(a !== undefined);
      const api = await fetch(`http://127.0.0.1:${a.port}/_wsmesh/api/state`);
      assert.equal(api.status, 401);
      const wrong = await fetch(`http://127.0.0.1:${a.port}/_wsmesh/api/state`, {
        headers: { Authorization: 'Bearer not-the-token' },
      });
      assert.equal(wrong.status, 401);
      await page.goto(`http://127.0.0.1:${a.port}/_wsmesh`);
      assert.equal(await page.locator('input[name=token]').count(), 1);
    });

    test('a wrong token is refused; the right one logs in with a session cookie', async () => {
      const [a] = clones;
      assert.ok(a !== undefined);
      await page.goto(`http://127.0.0.1:${a.port}/_wsmesh`);
      await page.fill('input[name=token]', 'not-the-token');
      await page.click('form button');
      await page.waitForSelector('#login-error');
      await page.fill('input[name=token]', TOKEN);
      await page.click('form button');
      await page.waitForSelector('#graph');
      // The token never was in a url; the session cookie is not the token.
      assert.equal(new URL(page.url()).pathname, '/_wsmesh');
      assert.equal(new URL(page.url()).search, '');
      const cookies = await browser?.context.cookies();
      const session = cookies?.find((entry) => entry.name === 'wsmesh_dashboard');
      assert.ok(session !== undefined && session.httpOnly && session.value !== TOKEN);
    });

    test('on a phone (390 px wide) nothing leaves the screen; wide tables scroll in their panel', async () => {
      const [a] = clones;
      assert.ok(a !== undefined && browser !== undefined);
      const phone = await browser.context.newPage(); // same context: the session cookie
      try {
        await phone.setViewportSize({ width: 390, height: 844 });
        await phone.goto(`http://127.0.0.1:${a.port}/_wsmesh`);
        await phone.waitForFunction(
          () => (document.getElementById('functions')?.textContent ?? '').includes('add'),
          undefined,
          { timeout: 10_000 },
        );
        const layout = await phone.evaluate(() => ({
          width: window.innerWidth,
          page: document.documentElement.scrollWidth,
          boxes: Array.from(document.querySelectorAll('.panel, .card, header')).map((box) => {
            const rect = box.getBoundingClientRect();
            return { left: rect.left, right: rect.right };
          }),
          graph: document.getElementById('graph')?.getBoundingClientRect().width ?? 0,
        }));
        assert.equal(layout.width, 390);
        assert.ok(layout.page <= 390, `the page is ${layout.page} px wide at 390`);
        for (const box of layout.boxes) {
          assert.ok(box.left >= 0 && box.right <= 390, `a panel at ${box.left}..${box.right}`);
        }
        assert.ok(layout.graph > 250, 'the graph uses the width');
        await phone.screenshot({ path: join(ARTIFACTS, 'dashboard-390px.png'), fullPage: true });
      } finally {
        await phone.close();
      }
    });

    test('draws three nodes and their three links, then the graph after one clone stops', async () => {
      const [a, , c] = clones;
      assert.ok(a !== undefined && c !== undefined);
      await page.goto(`http://127.0.0.1:${a.port}/_wsmesh`);
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#graph g.node').length === 3 &&
          document.querySelectorAll('#graph line.edge.clone').length === 3,
        undefined,
        { timeout: 10_000 },
      );
      const before = await drawn(page);
      assert.deepEqual(before.nodes.map((node) => node.id).sort(), ['dash-a', 'dash-b', 'dash-c']);
      assert.match(before.nodes.find((node) => node.id === 'dash-a')?.cls ?? '', /state-self/);
      assert.deepEqual(pairs(before.edges), ['dash-a-dash-b', 'dash-a-dash-c', 'dash-b-dash-c']);
      // Tables: the function and where it lives, the group and where its subscribers are.
      await page.waitForFunction(
        () =>
          (document.getElementById('functions')?.textContent ?? '').includes('add') &&
          (document.getElementById('groups')?.textContent ?? '').includes('lobby'),
        undefined,
        { timeout: 10_000 },
      );
      // Rate charts fill in as samples arrive.
      await page.waitForFunction(
        () => document.querySelectorAll('#charts .chart polyline').length > 0,
        undefined,
        { timeout: 10_000 },
      );
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-3-clones.png'), fullPage: true });

      await c.server.stop();
      await page.waitForFunction(
        () =>
          document.querySelectorAll('#graph line.edge.clone').length === 1 &&
          !Array.from(document.querySelectorAll('#graph g.node')).some(
            (node) =>
              node.getAttribute('data-id') === 'dash-c' &&
              !/state-(unreachable|connecting)/.test(node.getAttribute('class') ?? ''),
          ),
        undefined,
        { timeout: 10_000 },
      );
      const afterStop = await drawn(page);
      assert.deepEqual(pairs(afterStop.edges), ['dash-a-dash-b']);
      const live = afterStop.nodes.filter((node) => !/unreachable|connecting/.test(node.cls));
      assert.deepEqual(live.map((node) => node.id).sort(), ['dash-a', 'dash-b']);
      await page.screenshot({ path: join(ARTIFACTS, 'dashboard-1-stopped.png'), fullPage: true });
      assert.deepEqual(pageErrors, []);
    });

    test('the page says so when the node itself goes away', async () => {
      const [a] = clones;
      assert.ok(a !== undefined);
      await a.server.stop();
      await waitFor(
        async () => (await page.getAttribute('body', 'data-error')) !== null,
        10_000,
        'page reports the lost node',
      );
      assert.match((await page.textContent('#status')) ?? '', /disconnected/);
    });
  });
