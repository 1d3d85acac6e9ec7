/**
 * Subscribe latency on a three-clone mesh: a client on clone B subscribes to `ROUNDS` fresh
 * groups one after another (each is a new interest the other clones must learn); prints
 * p50/p90/p99 in ms. `WSMESH_SRC` picks the library's entry (default this checkout's), so the
 * same script measures another build.
 *
 *   npx tsx bench/subscribe-latency.ts
 *   WSMESH_SRC=/path/to/other/src/index.ts npx tsx bench/subscribe-latency.ts
 */
import { createServer } from 'node:net';
import { pathToFileURL } from 'node:url';
import type * as WsMesh from '../src/index.js';

const ROUNDS = Number(process.env.ROUNDS ?? '300');
const entry = process.env.WSMESH_SRC ?? new URL('../src/index.ts', import.meta.url).pathname;
const { Server, Client } = (await import(pathToFileURL(entry).href)) as typeof WsMesh;

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() =>
        resolve(typeof address === 'object' && address !== null ? address.port : 0),
      );
    });
  });
}

async function clone(id: string): Promise<InstanceType<typeof Server>> {
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const server = new Server({ id, port, url, host: '127.0.0.1', silent: true, cloneInterval: 500 });
  await server.start();
  return server;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

const servers = [await clone('a'), await clone('b'), await clone('c')];
const urlOf = (server: InstanceType<typeof Server>): string => `ws://127.0.0.1:${server.port}`;
for (const server of servers.slice(1))
  server.addClone({ id: 'a', url: urlOf(servers[0] as InstanceType<typeof Server>) });
const deadline = Date.now() + 10_000;
while (!servers.every((s) => s.clones.linkedIds().length === 2)) {
  if (Date.now() > deadline) throw new Error('mesh did not link');
  await new Promise((resolve) => setTimeout(resolve, 20));
}
const client = new Client({ url: urlOf(servers[1] as InstanceType<typeof Server>), silent: true });
await client.start();
const times: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  const started = performance.now();
  await client.subscribe({ id: `g-${round}` });
  times.push(performance.now() - started);
}
times.sort((x, y) => x - y);
const fmt = (n: number): string => n.toFixed(3);
console.log(
  `subscribe, 3 clones, ${ROUNDS} fresh groups: p50 ${fmt(percentile(times, 50))} ms, p90 ${fmt(percentile(times, 90))} ms, p99 ${fmt(percentile(times, 99))} ms`,
);
await client.stop();
await Promise.all(servers.map((s) => s.stop()));
