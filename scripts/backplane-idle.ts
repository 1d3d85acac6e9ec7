/**
 * What an idle cluster costs per node, on the clone mesh and on NATS: N wsmesh servers in this
 * process (real sockets on 127.0.0.1, default intervals), no clients, no traffic but the
 * cluster's own. It waits until the cluster has formed and settled, then counts for a window
 * the bytes this process writes and reads through system calls (/proc/self/io wchar and rchar:
 * idle, that is only the cluster's sockets) and the JS heap after a full GC.
 *
 *   node --expose-gc --import tsx scripts/backplane-idle.ts [sizes=2,4,8] [windowMs=10000]
 *
 * NATS runs as one local nats-server (started and stopped here by PID); its own memory and
 * route traffic are not counted. Linux only. docs/backplane.md compares the figures with
 * the ones derived from the code.
 * @module
 */
import { readFileSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { Server } from '../src/index.js';
import { natsBackplane } from '../src/nats.js';
import { getFreePort } from '../test/helpers.js';
import { startNatsCluster } from '../test/nats-helpers.js';

const sizes = (process.argv[2] ?? '2,4,8').split(',').map(Number);
const windowMs = Number(process.argv[3] ?? 10_000);

function io(): { written: number; read: number } {
  const text = readFileSync('/proc/self/io', 'utf8');
  const field = (name: string): number =>
    Number(new RegExp(`^${name}: (\\d+)`, 'm').exec(text)?.[1]);
  return { written: field('wchar'), read: field('rchar') };
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed;
}

async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await delay(50);
  }
}

interface Figures {
  bytesOutPerNodePerSecond: number;
  bytesInPerNodePerSecond: number;
  heapPerNodeKiB: number;
}

async function measure(servers: Server[], baseline: number): Promise<Figures> {
  // Settled: records and tables have spread; only the periodic traffic is left.
  await delay(5000);
  const before = io();
  await delay(windowMs);
  const after = io();
  const seconds = windowMs / 1000;
  const n = servers.length;
  return {
    bytesOutPerNodePerSecond: Math.round((after.written - before.written) / seconds / n),
    bytesInPerNodePerSecond: Math.round((after.read - before.read) / seconds / n),
    heapPerNodeKiB: Math.round((heap() - baseline) / n / 1024),
  };
}

async function mesh(size: number): Promise<Figures> {
  const baseline = heap();
  const servers: Server[] = [];
  const urls: string[] = [];
  for (let i = 0; i < size; i++) {
    const port = await getFreePort();
    urls.push(`ws://127.0.0.1:${port}`);
    const server = new Server({
      id: `mesh-node-${i}`,
      host: '127.0.0.1',
      port,
      url: urls[i],
      silent: true,
    });
    await server.start();
    servers.push(server);
  }
  // A chain of addClone: gossip makes it a full mesh.
  for (let i = 1; i < size; i++)
    (servers[i] as Server).addClone({ id: `mesh-node-${i - 1}`, url: urls[i - 1] as string });
  try {
    await until(
      () => servers.every((s) => s.clones.linkedIds().length === size - 1),
      60_000,
      'mesh linked',
    );
    return await measure(servers, baseline);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

async function nats(size: number, url: string): Promise<Figures> {
  const baseline = heap();
  const servers: Server[] = [];
  const prefix = `idle${size}`;
  for (let i = 0; i < size; i++) {
    const server = new Server({
      id: `nats-node-${i}`,
      host: '127.0.0.1',
      port: 0,
      silent: true,
      backplane: natsBackplane({ servers: url, prefix }),
    });
    await server.start();
    servers.push(server);
  }
  try {
    await until(
      () => servers.every((s) => s.clones.clones.size === size - 1),
      60_000,
      'nodes known',
    );
    return await measure(servers, baseline);
  } finally {
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const cluster = await startNatsCluster(1);
try {
  // A first round loads and compiles every module (tsx writes its cache: that is I/O too).
  await mesh(2);
  await nats(2, cluster.urls[0] as string);
  console.log(`idle window ${windowMs} ms; bytes through system calls per node per second`);
  console.log('shape  nodes  out B/s  in B/s  heap KiB/node');
  for (const size of sizes) {
    for (const [shape, run] of [
      ['mesh', () => mesh(size)],
      ['nats', () => nats(size, cluster.urls[0] as string)],
    ] as const) {
      const f = await run();
      console.log(
        `${shape.padEnd(6)} ${String(size).padStart(5)}  ${String(f.bytesOutPerNodePerSecond).padStart(7)}  ${String(f.bytesInPerNodePerSecond).padStart(6)}  ${String(f.heapPerNodeKiB).padStart(13)}`,
      );
    }
  }
} finally {
  await cluster.stop();
}
