/**
 * Subscription flood: memory of the home clone and of the other clones of a three-clone mesh
 * before and after `connections` connections each subscribe to `groups` distinct groups on
 * the home clone. Every clone runs in its own process; heap and RSS are read after a forced
 * GC.
 *
 * ```sh
 * npx tsx bench/flood-memory.ts                        # 10 x 10,000, default server options
 * npx tsx bench/flood-memory.ts --connections 10 --groups 10000 --options '{"maxGroups":0}'
 * ```
 * `--options` is JSON merged into every clone's server options.
 * @module
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';

interface Memory {
  heapMB: number;
  rssMB: number;
  groups: number;
  homeGroupsSeen: number;
  linked: number;
}

const role = process.env.FLOOD_ROLE;

async function runClone(): Promise<void> {
  const { Server } = await import('../src/index.js');
  const id = process.env.FLOOD_ID ?? '';
  const port = Number(process.env.FLOOD_PORT);
  const peers = JSON.parse(process.env.FLOOD_PEERS ?? '[]') as { id: string; url: string }[];
  const extra = JSON.parse(process.env.FLOOD_OPTIONS ?? '{}') as Record<string, unknown>;
  const server = new Server({
    id,
    port,
    host: '127.0.0.1',
    url: `ws://127.0.0.1:${port}`,
    cloneInterval: 500,
    ...extra,
  });
  await server.start();
  for (const peer of peers) server.addClone(peer);
  process.on('message', (message: { type: string }) => {
    if (message.type === 'stop') {
      void server.stop().then(() => process.exit(0));
      return;
    }
    (globalThis as { gc?: () => void }).gc?.();
    const usage = process.memoryUsage();
    const home = server.clones.topology().find((clone) => clone.id === 'home');
    const memory: Memory = {
      heapMB: usage.heapUsed / 2 ** 20,
      rssMB: usage.rss / 2 ** 20,
      groups: server.groups.size,
      homeGroupsSeen: home?.groups.length ?? -1,
      linked: server.clones.links.size,
    };
    process.send?.(memory);
  });
  process.send?.({ ready: true });
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

function ask(child: ChildProcess): Promise<Memory> {
  return new Promise((resolve) => {
    child.once('message', (message) => resolve(message as Memory));
    child.send({ type: 'mem' });
  });
}

async function until(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return false;
}

/** Opens a raw JSON connection, subscribes to `groups` groups, resolves with the outcome. */
function flood(
  url: string,
  prefix: string,
  groups: number,
): Promise<{ ws: WebSocket; ok: number; refused: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, 'wsmesh.v1.json', { perMessageDeflate: false });
    let ok = 0;
    let refused = 0;
    ws.once('error', reject);
    ws.once('unexpected-response', (_request, response) =>
      resolve({ ws, ok: 0, refused: -(response.statusCode ?? 1) }),
    );
    ws.on('open', () => {
      ws.send(JSON.stringify([0, { v: 1, id: prefix }]));
      for (let n = 1; n <= groups; n++) ws.send(JSON.stringify([5, n, `${prefix}-${n}`]));
    });
    ws.on('message', (data) => {
      for (const line of data.toString().split('\n')) {
        const frame = JSON.parse(line) as unknown[];
        if (frame[0] === 9) ws.send('[10]'); // PING: answer, or the server drops us
        if (frame[0] === 3) ok += frame[2] === true ? 1 : 0;
        else if (frame[0] === 4) refused++;
        else continue;
        if (ok + refused === groups) resolve({ ws, ok, refused });
      }
    });
  });
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '10' },
      groups: { type: 'string', default: '10000' },
      options: { type: 'string', default: '{}' },
    },
  });
  const connections = Number(values.connections);
  const groups = Number(values.groups);
  const ports = [await freePort(), await freePort(), await freePort()];
  const ids = ['home', 'other-1', 'other-2'];
  const children = ids.map((id, index) =>
    fork(fileURLToPath(import.meta.url), [], {
      execArgv: ['--import', 'tsx', '--expose-gc'],
      env: {
        ...process.env,
        FLOOD_ROLE: 'clone',
        FLOOD_ID: id,
        FLOOD_PORT: String(ports[index]),
        FLOOD_OPTIONS: values.options,
        FLOOD_PEERS: JSON.stringify(
          index === 0 ? [] : [{ id: 'home', url: `ws://127.0.0.1:${ports[0]}` }],
        ),
      },
    }),
  );
  try {
    await Promise.all(children.map((child) => new Promise((r) => child.once('message', r))));
    await until(
      async () => (await Promise.all(children.map(ask))).every((m) => m.linked === 2),
      10_000,
    );
    const before = await Promise.all(children.map(ask));
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: connections }, (_, c) =>
        flood(`ws://127.0.0.1:${ports[0]}`, `flood${c}`, groups),
      ),
    );
    const accepted = results.reduce((sum, result) => sum + result.ok, 0);
    const refused = results.reduce((sum, result) => sum + Math.max(0, result.refused), 0);
    const home = children[0] as ChildProcess;
    const homeGroups = (await ask(home)).groups;
    const propagated = await until(async () => {
      const others = await Promise.all(children.slice(1).map(ask));
      return others.every((m) => m.homeGroupsSeen === homeGroups);
    }, 60_000);
    if (!propagated) console.log('the other clones never learned all groups of home');
    const seconds = (Date.now() - started) / 1000;
    const during = await Promise.all(children.map(ask));
    for (const result of results) result.ws.terminate();
    await until(async () => (await ask(home)).groups === 0, 30_000);
    await until(async () => {
      const others = await Promise.all(children.slice(1).map(ask));
      return others.every((m) => m.homeGroupsSeen === 0);
    }, 30_000);
    const afterClose = await Promise.all(children.map(ask));
    console.log(
      `flood: ${connections} x ${groups} subscriptions, options ${values.options}: ` +
        `${accepted} accepted, ${refused} refused, propagated in ${seconds.toFixed(1)} s`,
    );
    console.log(
      '| clone | heap before | heap flooded | heap after close | rss before | rss flooded | groups seen of home |',
    );
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    ids.forEach((id, index) => {
      const b = before[index] as Memory;
      const d = during[index] as Memory;
      const a = afterClose[index] as Memory;
      console.log(
        `| ${id} | ${b.heapMB.toFixed(1)} MB | ${d.heapMB.toFixed(1)} MB | ${a.heapMB.toFixed(1)} MB | ` +
          `${b.rssMB.toFixed(0)} MB | ${d.rssMB.toFixed(0)} MB | ${index === 0 ? d.groups : d.homeGroupsSeen} |`,
      );
    });
  } finally {
    for (const child of children) child.send({ type: 'stop' });
  }
}

if (role === 'clone') void runClone();
else void main();
