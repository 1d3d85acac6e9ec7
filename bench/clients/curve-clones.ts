/**
 * Curve "clones in a mesh" (wsmesh only): N wsmesh Servers in this process (real sockets on
 * 127.0.0.1, default cloneInterval), each told only its predecessor (a chain of `addClone`).
 * Measures the time until every clone knows and is linked to every other, the links held, the
 * memory one clone costs (heap + external and RSS after a forced GC, over the process before
 * the servers started, divided by N), and the bytes the idle mesh writes per clone per second
 * (heartbeats and gossip: the process's socket writes, /proc/self/io `wchar`, over a window
 * in which nothing else runs).
 * @module
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseCurveArgument } from '../lib/curve-config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, runLoadChild } from '../lib/load-child.js';
import { takeSnapshot } from '../lib/snapshot.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import { startOnFreePort, type MeshServer } from '../lib/wsmesh-node.js';

const wsmesh = await loadWsMesh();

/** Bytes this process has written so far (files, pipes and sockets). */
function bytesWritten(): number {
  const match = /^wchar: (\d+)$/m.exec(readFileSync('/proc/self/io', 'utf8'));
  return Number(match?.[1] ?? Number.NaN);
}

async function main(): Promise<Metrics> {
  const config = parseCurveArgument(childArgument(), ['clones', 'limitMs', 'idleMs']);
  const size = config.clones;
  // One server started and stopped first, so what every server loads once is not counted.
  const warmup = await startOnFreePort(wsmesh.Server, { id: 'warmup' }, () => undefined);
  await warmup.stop();
  await delay(100);
  const before = takeSnapshot(true);
  const servers: MeshServer[] = [];
  try {
    for (let index = 0; index < size; index++) {
      servers.push(await startOnFreePort(wsmesh.Server, { id: `c${index}` }, () => undefined));
    }
    const start = performance.now();
    for (let index = 1; index < size; index++) {
      const previous = servers[index - 1];
      servers[index]?.addClone({ id: `c${index - 1}`, url: previous?.url ?? '' });
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
      if (elapsed > config.limitMs) throw new Error(`${size} clones not converged in time`);
      await delay(1);
    }
    // Let the last digests of the convergence go by before the idle window.
    await delay(Math.min(2_000, config.idleMs / 2));
    const converged = takeSnapshot(true);
    const writtenBefore = bytesWritten();
    const idleStart = performance.now();
    await delay(config.idleMs);
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const written = bytesWritten() - writtenBefore;
    const links = servers.reduce((sum, server) => sum + server.clones.linkedIds().length, 0) / 2;
    return {
      knowMs,
      linkMs,
      links,
      linksPerClone: (links * 2) / size,
      idleBytesPerClonePerSec: written / idleSeconds / size,
      heapKbPerClone:
        (converged.heapUsed + converged.external - before.heapUsed - before.external) / 1024 / size,
      rssKbPerClone: (converged.rss - before.rss) / 1024 / size,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  }
}

runLoadChild(main);
