/**
 * `npm start`, as a newcomer runs it: examples/demo.ts in a child process (through tsx, as the
 * npm script does, without npm in between so the test knows the PID it signals). It checks the
 * console walkthrough, then the live part that the demo starts with the real CLI
 * (`wsmesh start --workers 2 ... --static examples/demo-web/public`): the chat page and the
 * browser client over HTTP, the dashboard with and without its token, the page in Chromium
 * getting an answer from the bot (skipped without /usr/bin/chromium, except under CI), and
 * SIGTERM stopping the demo, the CLI and both workers.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Client } from '../src/client/client.js';
import { chromiumSuite, launchChromium } from './chromium-helpers.js';
import { waitFor, within } from './helpers.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SKIP_MESSAGE = 'chromium not installed: skipped the demo page in a browser; CI installs it';

/** True while `pid` is a live process. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('npm start (examples/demo.ts)', { concurrency: false }, () => {
  let child: ChildProcess;
  let output = '';
  let exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** PIDs started for this test, directly (the demo) or by it (the CLI and its workers). */
  const pids = new Set<number>();
  let pages: string[] = [];
  let dashboard = '';
  let dashboardToken = '';

  const waitOutput = (pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> =>
    waitFor(
      () => {
        if (child.exitCode !== null) throw new Error(`the demo exited early:\n${output}`);
        return output.match(pattern) ?? undefined;
      },
      timeoutMs,
      `demo output ${pattern}`,
      20,
    ) as Promise<RegExpMatchArray>;

  before(async () => {
    const env: NodeJS.ProcessEnv = {};
    for (const [key, value] of Object.entries(process.env)) {
      if (!key.startsWith('WSMESH_') && key !== 'DEMO_WEB' && key !== 'DEMO_PORT') env[key] = value;
    }
    // `npm start` is `tsx examples/demo.ts`: the same, with tsx as a loader of this node.
    child = spawn(process.execPath, ['--import', 'tsx', join('examples', 'demo.ts')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (child.pid !== undefined) pids.add(child.pid);
    exited = new Promise((resolve) =>
      child.once('exit', (code, signal) => resolve({ code, signal })),
    );
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const cli = await waitOutput(/wsmesh runs as pid (\d+)/, 20_000);
    pids.add(Number(cli[1]));
    await waitOutput(/Ctrl\+C stops the demo\./, 20_000);
    pages = [...output.matchAll(/^ {3}(?:open|or) +(http:\/\/127\.0\.0\.1:\d+\/)/gm)].map(
      (match) => match[1] ?? '',
    );
    dashboard = /the live dashboard of the mesh: (\S+)/.exec(output)?.[1] ?? '';
    dashboardToken = /log in with the token printed above: (\S+)\)/.exec(output)?.[1] ?? '';
  });

  after(async () => {
    // Whatever a failed test left running, by the PIDs this test knows.
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    if (child.exitCode === null && child.signalCode === null) await exited;
  });

  test('prints the walkthrough, then the CLI command it runs and where to look', () => {
    for (const line of [
      /1\. alice asks the server to add 2 \+ 3\n[\s\S]*?reply: 5\n/,
      /ERR_REMOTE: RangeError: division by zero/,
      /bob says: I am bob, connected with msgpack/,
      /deliveries: 2/,
      /10000 replies in \d+ ms/,
      /\$ wsmesh start --workers 2 --port 0 --id demo --dashboard --metrics --static examples\/demo-web\/public --functions examples\/demo-web\/functions\.ts --namespace demo/,
      /\| wsmesh: 2 workers ready: demo-1 ws:\/\/\S+, demo-2 ws:\/\/\S+/,
      /a Node bot on demo-2 posts to "lobby"/,
    ]) {
      assert.match(output, line);
    }
    assert.equal(pages.length, 2, output);
    assert.match(dashboard, /^http:\/\/127\.0\.0\.1:\d+\/_wsmesh$/, 'no token in the url');
    assert.match(dashboardToken, /^[\w-]{32}$/);
  });

  test('the page, its script and the browser client over HTTP; the dashboard needs its token', async () => {
    for (const page of pages) {
      const html = await fetch(page);
      assert.equal(html.status, 200);
      assert.equal(html.headers.get('content-type'), 'text/html; charset=utf-8');
      assert.match(await html.text(), /<script type="module" src="\/app\.js">/);
      const script = await fetch(new URL('/app.js', page));
      assert.equal(script.status, 200);
      assert.match(await script.text(), /fetch\('\/wsmesh\.json'\)/);
      const client = await fetch(new URL('/wsmesh-client.js', page));
      assert.equal(client.status, 200);
      assert.equal(client.headers.get('content-type'), 'text/javascript; charset=utf-8');
      assert.match(await client.text(), /WebClient/);
    }
    const token = dashboardToken;
    const withToken = await fetch(dashboard, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(withToken.status, 200);
    assert.match(await withToken.text(), /<html/i);
    assert.equal((await fetch(dashboard)).status, 401);
    // Every worker serves the dashboard with the same token: their PIDs, to check they stop.
    for (const page of pages) {
      const state = await fetch(new URL('/_wsmesh/api/state', page), {
        headers: { authorization: `Bearer ${token}` },
      });
      assert.equal(state.status, 200);
      const { node } = (await state.json()) as { node: { id: string; pid: number } };
      assert.match(node.id, /^demo-[12]$/);
      pids.add(node.pid);
    }
    assert.equal(pids.size, 4, 'the demo, the CLI and two workers');
  });

  const mode = chromiumSuite();
  test(
    'in Chromium: the page connects through /wsmesh.json, calls RPC and hears the bot',
    { skip: mode === 'skip' ? SKIP_MESSAGE : false },
    async () => {
      assert.notEqual(mode, 'fail', '/usr/bin/chromium is missing and CI is set');
      const browser = await launchChromium();
      try {
        const page = await browser.context.newPage();
        const errors: string[] = [];
        page.on('pageerror', (error) => errors.push(error.message));
        await page.goto(pages[0] ?? '');
        await page.waitForFunction(() => 'wsmeshDemo' in window, undefined, { timeout: 10_000 });
        assert.match((await page.textContent('#status')) ?? '', /connected to demo-1/);
        assert.equal(await page.textContent('#node'), 'demo-1');
        assert.equal(await page.getAttribute('#other', 'href'), pages[1]);
        await page.click('#where');
        await page.waitForFunction(
          () => document.getElementById('rpc-out')?.textContent?.includes('"node":"demo-1"'),
          undefined,
          { timeout: 5000 },
        );
        // Mention the bot (on demo-2): its answer crosses the mesh to this page on demo-1.
        await page.fill('#text', 'hello bot');
        await page.click('#send button');
        const answer = await page.waitForSelector('#messages li:has(b.bot)', { timeout: 10_000 });
        assert.match((await answer.textContent()) ?? '', /bot \[lobby, sent via demo-2\]/);
        assert.deepEqual(errors, []);
      } finally {
        await browser.close();
      }
    },
  );

  test(
    'in Chromium at 390 px: nothing overflows, and 300 messages scroll in their box',
    { skip: mode === 'skip' ? SKIP_MESSAGE : false },
    async () => {
      assert.notEqual(mode, 'fail', '/usr/bin/chromium is missing and CI is set');
      const browser = await launchChromium();
      const publisher = new Client({ url: (pages[0] ?? '').replace(/^http/, 'ws'), silent: true });
      try {
        const page = await browser.context.newPage();
        await page.setViewportSize({ width: 390, height: 844 });
        await page.goto(pages[0] ?? '');
        await page.waitForFunction(() => 'wsmeshDemo' in window, undefined, { timeout: 10_000 });
        const measure = (): Promise<{
          page: number;
          rpcTop: number;
          box: { height: number; scroll: number };
          right: number;
        }> =>
          page.evaluate(() => {
            const box = document.getElementById('messages');
            const edges = ['#text', '#send button', '#join button', '#rpc', '#switch'].map(
              (selector) => document.querySelector(selector)?.getBoundingClientRect().right ?? 0,
            );
            return {
              page: document.documentElement.scrollWidth,
              rpcTop: (document.getElementById('rpc')?.getBoundingClientRect().top ?? 0) + scrollY,
              box: { height: box?.clientHeight ?? 0, scroll: box?.scrollHeight ?? 0 },
              right: Math.max(...edges),
            };
          });
        const before = await measure();
        assert.ok(before.page <= 390, `the page is ${before.page} px wide at 390`);
        assert.ok(before.right <= 390, `an input or button ends at ${before.right} px`);
        await within(publisher.start(), 5000, 'publisher start');
        const text = 'a long line that wraps on a phone screen, again and again, ';
        for (let index = 0; index < 300; index++) {
          void publisher.sendMesToGroup({
            id: 'lobby',
            route: 'chat',
            data: { from: 'load', text: `${index}: ${text.repeat(2)}` },
          });
        }
        await page.waitForFunction(
          // Any item: the bot may post after the last one.
          () =>
            Array.from(document.querySelectorAll('#messages li')).some((li) =>
              (li.textContent ?? '').includes('299:'),
            ),
          undefined,
          { timeout: 10_000 },
        );
        const after = await measure();
        assert.equal(
          await page.evaluate(() => document.querySelectorAll('#messages li').length),
          200,
          'the page keeps the last 200 messages',
        );
        assert.equal(after.rpcTop, before.rpcTop, 'the RPC panel did not move');
        assert.ok(after.box.height <= 844 * 0.4 + 1, `the box is ${after.box.height} px high`);
        assert.ok(after.box.scroll > after.box.height, 'the messages scroll inside the box');
        assert.ok(after.page <= 390, `the page is ${after.page} px wide at 390`);
      } finally {
        await publisher.stop();
        await browser.close();
      }
    },
  );

  test('SIGTERM stops the bot, the CLI and its workers', async () => {
    child.kill('SIGTERM');
    const { code, signal } = await within(exited, 10_000, 'the demo exit');
    assert.ok(code === 0 || signal !== null, `exit code ${String(code)}\n${output}`);
    assert.match(output, /SIGTERM: stopping the bot, then wsmesh/);
    assert.match(output, /wsmesh node demo-1 stopped/);
    assert.match(output, /wsmesh node demo-2 stopped/);
    assert.match(output, /web demo stopped \(wsmesh exited with code 0\)/);
    await waitFor(() => [...pids].every((pid) => !alive(pid)), 10_000, 'every process gone');
  });
});
