/**
 * The live part of `npm start`: a mesh of two clones, each serving a small chat page that
 * loads the browser client (`wsmesh/client`, bundled with esbuild at startup), and a Node bot
 * on clone 2 that posts to the group "lobby" every few seconds.
 *
 * In the page: join a group, send messages, see the bot's and other tabs' messages (open the
 * other clone's address in a second tab: messages cross the mesh), call RPC functions (one
 * streams), and switch server to watch the client fail over and keep its groups.
 *
 * Run alone with `npx tsx examples/demo-web.ts` (DEMO_PORT=<port> to choose clone 1's port;
 * default: a free one).
 * @module
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import {
  createServer,
  type IncomingMessage,
  type Server as HttpServer,
  type ServerResponse,
} from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client, Server } from '../src/index.js';

/** A file of the browser bundle (see scripts/bundle.ts). */
interface BundleFile {
  path: string;
  contents: Uint8Array;
}

/** The running demo. */
export interface WebDemo {
  /** Page served by clone 1. */
  url: string;
  /** Page served by clone 2. */
  url2: string;
  /** Live dashboard of clone 1 (with its token). */
  dashboard: string;
  stop(): Promise<void>;
}

const BOT_INTERVAL_MS = 4000;
const distDir = fileURLToPath(new URL('../dist/', import.meta.url));

/**
 * The browser client: built now with esbuild (a devDependency), or else the one `npm run
 * bundle` left in dist/.
 */
async function loadBundle(): Promise<BundleFile[]> {
  try {
    const { bundleBrowserClient } = await import('../scripts/bundle.js');
    return await bundleBrowserClient({ write: false, outdir: join(distDir, 'demo-bundle') });
  } catch (error) {
    const entry = join(distDir, 'wsmesh-client.js');
    if (!existsSync(entry)) {
      throw new Error(
        `Cannot build the browser client (${error instanceof Error ? error.message : String(error)}) and dist/wsmesh-client.js is missing: run npm install, then npm run bundle`,
      );
    }
    const chunksDir = join(distDir, 'chunks');
    const chunks = existsSync(chunksDir) ? readdirSync(chunksDir) : [];
    return [
      { path: 'wsmesh-client.js', contents: readFileSync(entry) },
      ...chunks.map((name) => ({
        path: `chunks/${name}`,
        contents: readFileSync(join(chunksDir, name)),
      })),
    ];
  }
}

function listen(http: HttpServer, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    http.once('error', reject);
    http.listen(port, '127.0.0.1', () => {
      const address = http.address();
      resolve(typeof address === 'object' && address !== null ? address.port : port);
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

/** What both clones share by RPC (namespace `demo`). */
function shareFunctions(server: Server): void {
  const share = server.origin({ namespace: 'demo' });
  share(function add(a: number, b: number) {
    return { sum: a + b, computedBy: server.id };
  });
  share(async function* countdown(from: number) {
    for (let i = Math.min(Math.max(Math.trunc(from), 1), 20); i > 0; i--) {
      yield `${i} (from ${server.id})`;
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
  });
  share(function whereAmI() {
    return { server: server.id, clients: server.clients.size, clones: server.clones.linkedIds() };
  });
}

/** Starts the mesh, the pages and the bot. */
export async function startWebDemo(port = Number(process.env.DEMO_PORT ?? 0)): Promise<WebDemo> {
  const files = await loadBundle();
  const token = `demo-${globalThis.crypto.randomUUID()}`;
  const dashboardToken = globalThis.crypto.randomUUID();
  const https: HttpServer[] = [];
  const clones: Server[] = [];
  const wsUrls: string[] = [];

  for (const n of [1, 2]) {
    const id = `clone${n}`;
    const http = createServer((request, response) => servePage(request, response, id));
    https.push(http);
    const bound = await listen(http, n === 1 ? port : 0);
    const wsUrl = `ws://127.0.0.1:${bound}/ws`;
    wsUrls.push(wsUrl);
    const server = new Server({
      id,
      server: http,
      path: '/ws',
      url: wsUrl,
      authFnOut: () => token,
      authFnIn: (value) => value === token,
      dashboard: { token: dashboardToken },
      metrics: true,
    });
    shareFunctions(server);
    await server.start();
    clones.push(server);
  }

  function servePage(request: IncomingMessage, response: ServerResponse, cloneId: string): void {
    const pathname = new URL(request.url ?? '/', 'http://127.0.0.1').pathname;
    const own = cloneId === 'clone1' ? 0 : 1;
    // The dashboard (/_wsmesh) and /metrics of this clone share the page's http server.
    if (clones[own]?.handleHttp(request, response) === true) return;
    if (pathname === '/') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      response.end(PAGE_HTML);
    } else if (pathname === '/config.json') {
      // The page's own clone first, then the other one: the failover order.
      const urls = [wsUrls[own], wsUrls[1 - own]];
      const pages = https.map((http) => {
        const address = http.address();
        return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
      });
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ clone: cloneId, urls, otherPage: pages[1 - own] }));
    } else if (pathname === '/app.js') {
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      response.end(PAGE_SCRIPT);
    } else {
      const file = files.find((candidate) => `/${candidate.path}` === pathname);
      if (file === undefined) {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
        return;
      }
      response.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      response.end(file.contents);
    }
  }

  const [clone1, clone2] = clones;
  if (clone1 === undefined || clone2 === undefined) throw new Error('two clones expected');
  clone2.addClone({ id: 'clone1', url: clone1.url ?? '' });

  // A bot on clone 2: posts every few seconds and answers messages that mention it.
  const bot = new Client({ id: 'bot', url: clone2.url ?? '' });
  let count = 0;
  bot.addRoute({
    route: 'chat',
    handler: ({ data, mes }) => {
      const message = data as { from?: unknown; text?: unknown };
      if (typeof message.text !== 'string' || message.from === 'bot') return;
      if (!/\bbot\b/i.test(message.text)) return;
      void bot.sendMesToGroup({
        id: mes.group ?? 'lobby',
        route: 'chat',
        data: {
          from: 'bot',
          via: 'clone2',
          text: `hi ${String(message.from)}, I am a Node client on clone2`,
        },
      });
    },
  });
  await bot.start();
  await bot.subscribe({ id: 'lobby' });
  const timer = setInterval(() => {
    count++;
    void bot
      .sendMesToGroup({
        id: 'lobby',
        route: 'chat',
        data: {
          from: 'bot',
          via: 'clone2',
          text: `beep #${count} (every ${BOT_INTERVAL_MS / 1000} s)`,
        },
      })
      .catch(() => undefined);
  }, BOT_INTERVAL_MS);

  const pageOf = (http: HttpServer): string => {
    const address = http.address();
    return `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}/`;
  };
  const [http1, http2] = https;
  if (http1 === undefined || http2 === undefined) throw new Error('two http servers expected');

  return {
    url: pageOf(http1),
    url2: pageOf(http2),
    dashboard: `${pageOf(http1)}ws/_wsmesh?token=${dashboardToken}`,
    async stop() {
      clearInterval(timer);
      await bot.stop();
      for (const clone of clones) await clone.stop();
      for (const http of https) await closeHttp(http);
    },
  };
}

const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>wsmesh demo</title>
<link rel="icon" href="data:,">
<style>
  body { font: 15px/1.4 system-ui, sans-serif; max-width: 52rem; margin: 1.5rem auto; padding: 0 1rem; color: #222; }
  h1 { font-size: 1.3rem; margin: 0 0 .3rem; }
  .status { padding: .4rem .6rem; border-radius: .3rem; background: #eee; margin: .6rem 0; }
  .status.open { background: #e3f6e3; } .status.waiting { background: #fdf0d5; }
  section { border: 1px solid #ddd; border-radius: .4rem; padding: .6rem .8rem; margin: .8rem 0; }
  h2 { font-size: 1rem; margin: 0 0 .5rem; }
  input { font: inherit; padding: .2rem .4rem; }
  button { font: inherit; padding: .2rem .7rem; cursor: pointer; }
  #messages { list-style: none; padding: 0; margin: .5rem 0 0; max-height: 18rem; overflow-y: auto; }
  #messages li { padding: .15rem 0; border-bottom: 1px solid #f0f0f0; }
  .meta { color: #777; font-size: .85em; }
  .mine { color: #0a5; } .bot { color: #a50; }
  #rpc-out { white-space: pre-wrap; font-family: ui-monospace, monospace; font-size: .9em; }
</style>
</head>
<body>
<h1>wsmesh: a browser client on a mesh of two clones</h1>
<div class="meta">Open <a id="other" target="_blank">the page of the other clone</a> in a second tab: messages cross the mesh.</div>
<div id="status" class="status">loading the client…</div>

<section>
  <h2>Group chat</h2>
  <form id="join">
    name <input id="name" size="10" required>
    group <input id="group" value="lobby" size="10" required>
    <button>join</button> <button type="button" id="leave">leave</button>
    <span class="meta">in: <span id="groups">none</span></span>
  </form>
  <form id="send" style="margin-top:.5rem">
    <input id="text" size="40" placeholder="say something (mention bot to get an answer)" required>
    <button>send</button>
  </form>
  <ul id="messages"></ul>
</section>

<section>
  <h2>RPC (namespace "demo", shared by both clones)</h2>
  <form id="add">
    <input id="a" type="number" value="2" style="width:5rem"> +
    <input id="b" type="number" value="3" style="width:5rem">
    <button>add(a, b)</button>
    <button type="button" id="countdown">countdown(5) (a stream)</button>
    <button type="button" id="where">whereAmI()</button>
  </form>
  <div id="rpc-out"></div>
</section>

<section>
  <h2>Failover</h2>
  <button id="switch">switch server</button>
  <span class="meta">closes the connection and goes to the next url; groups come along.</span>
</section>
<script type="module" src="/app.js"></script>
</body>
</html>
`;

/** The page's script (plain JavaScript, served as is). */
const PAGE_SCRIPT = `
import { WebClient } from '/wsmesh-client.js';

const $ = (id) => document.getElementById(id);
const config = await (await fetch('/config.json')).json();
$('other').href = config.otherPage;
$('name').value = 'guest-' + Math.random().toString(36).slice(2, 6);

const client = new WebClient({ url: config.urls, silent: true, reconnectTimeout: 500 });
let serverId;

function status() {
  const info = client.getInfo();
  const el = $('status');
  el.className = 'status ' + info.state;
  el.textContent = info.connected
    ? 'connected to ' + info.serverId + ' (' + info.url + '), client id ' + info.id
    : info.state + '…';
  $('groups').textContent = info.groups.length ? info.groups.join(', ') : 'none';
}

function show(group, message) {
  const li = document.createElement('li');
  const who = document.createElement('b');
  who.textContent = String(message.from ?? '?');
  who.className = message.from === 'bot' ? 'bot' : message.id === client.id ? 'mine' : '';
  const meta = document.createElement('span');
  meta.className = 'meta';
  meta.textContent = ' [' + group + ', sent via ' + String(message.via ?? '?') + '] ';
  li.append(who, meta, document.createTextNode(String(message.text ?? '')));
  $('messages').prepend(li);
}

client.addRoute({ route: 'chat', handler: ({ data, mes }) => show(mes.group, data ?? {}) });
client.on('open', ({ serverId: id }) => { serverId = id; status(); });
client.on('close', status);
client.on('stop', status);
client.on('error', ({ error }) => console.warn('wsmesh:', error.message));

$('join').onsubmit = async (event) => {
  event.preventDefault();
  await client.subscribe({ id: $('group').value.trim() });
  status();
};
$('leave').onclick = async () => {
  await client.unsubscribe({ id: $('group').value.trim() });
  status();
};
$('send').onsubmit = async (event) => {
  event.preventDefault();
  const text = $('text').value;
  $('text').value = '';
  await client.sendMesToGroup({
    id: $('group').value.trim(),
    route: 'chat',
    data: { from: $('name').value, id: client.id, via: serverId, text },
  });
};

let demo; // the RPC proxy, once connected
const out = (text) => { $('rpc-out').textContent = text; };
$('add').onsubmit = async (event) => {
  event.preventDefault();
  const result = await demo.add(Number($('a').value), Number($('b').value));
  out('add -> ' + JSON.stringify(result));
};
$('countdown').onclick = async () => {
  const items = [];
  for await (const item of demo.countdown(5)) {
    items.push(item);
    out('countdown -> ' + items.join(', '));
  }
  out('countdown -> ' + items.join(', ') + ', done');
};
$('where').onclick = async () => out('whereAmI -> ' + JSON.stringify(await demo.whereAmI()));
$('switch').onclick = () => { client.nextUrl(); status(); };

for (const button of document.querySelectorAll('#add button')) button.disabled = true;
status();
await client.start();
await client.subscribe({ id: 'lobby' });
demo = await client.rpc('demo');
for (const button of document.querySelectorAll('#add button')) button.disabled = false;
status();
window.wsmeshDemo = { client };
`;

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const demo = await startWebDemo();
  console.log(`wsmesh web demo: open ${demo.url} (clone1) or ${demo.url2} (clone2); Ctrl+C stops`);
  process.once('SIGINT', () => void demo.stop());
}
