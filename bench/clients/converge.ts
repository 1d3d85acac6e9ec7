/**
 * S5 loader (runs alone, wsmesh only): for each mesh size N, starts N wsmesh Servers in this
 * process (real sockets on 127.0.0.1, default cloneInterval), tells each only about its
 * predecessor (a chain of `addClone`), and measures the time from the first `addClone` until
 * every clone knows all N-1 others and until every pair is linked. Median of the repetitions.
 * @module
 */
import { createServer } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseS5Argument } from '../lib/config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, runLoadChild } from '../lib/load-child.js';
import { median } from '../lib/stats.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

const wsmesh = await loadWsMesh();
type MeshServer = InstanceType<typeof wsmesh.Server>;

/** Free ports (each bound to port 0 and released), so every url is known before start. */
async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve, reject) => {
          const server = createServer();
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve(server));
        }),
    ),
  );
  const ports = servers.map((server) => {
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : 0;
  });
  await Promise.all(
    servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
  return ports;
}

interface Convergence {
  knowMs: number;
  linkMs: number;
}

async function converge(size: number, limitMs: number): Promise<Convergence> {
  const ports = await freePorts(size);
  const urls = ports.map((port) => `ws://127.0.0.1:${port}`);
  const servers: MeshServer[] = ports.map(
    (port, index) =>
      new wsmesh.Server({
        id: `c${index}`,
        url: urls[index],
        host: '127.0.0.1',
        port,
        silent: true,
      }),
  );
  try {
    await Promise.all(servers.map((server) => server.start()));
    const start = performance.now();
    for (let index = 1; index < size; index++) {
      servers[index]?.addClone({ id: `c${index - 1}`, url: urls[index - 1] ?? '' });
    }
    let knowMs = Number.NaN;
    let linkMs = Number.NaN;
    while (Number.isNaN(linkMs) || Number.isNaN(knowMs)) {
      const elapsed = performance.now() - start;
      if (Number.isNaN(knowMs) && servers.every((s) => s.clones.clones.size === size - 1)) {
        knowMs = elapsed;
      }
      if (Number.isNaN(linkMs) && servers.every((s) => s.clones.linkedIds().length === size - 1)) {
        linkMs = elapsed;
      }
      if (elapsed > limitMs) {
        const known = servers.map((s) => s.clones.clones.size).join(',');
        const linked = servers.map((s) => s.clones.linkedIds().length).join(',');
        throw new Error(
          `${size} clones not converged within ${limitMs} ms (known ${known}; linked ${linked})`,
        );
      }
      await delay(1);
    }
    return { knowMs, linkMs };
  } finally {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  }
}

async function main(): Promise<Metrics> {
  const config = parseS5Argument(childArgument());
  const metrics: Metrics = {};
  for (const size of config.sizes) {
    const know: number[] = [];
    const link: number[] = [];
    for (let repetition = 0; repetition < config.repetitions; repetition++) {
      const result = await converge(size, config.limitMs);
      know.push(result.knowMs);
      link.push(result.linkMs);
      await delay(200);
    }
    metrics[`n${size}.knowMs`] = median(know);
    metrics[`n${size}.linkMs`] = median(link);
    metrics[`n${size}.knowMaxMs`] = Math.max(...know);
  }
  return metrics;
}

runLoadChild(main);
