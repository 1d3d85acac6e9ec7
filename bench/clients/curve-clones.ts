/**
 * Curve "nodes of a cluster": N wsmesh Servers in this process (real sockets on 127.0.0.1,
 * default intervals). `wsmesh`: a clone mesh, each told only its predecessor (a chain of
 * `addClone`). `wsmesh-nats`: every node on the NATS backplane, on the one nats-server of the
 * trial (whose own memory and traffic are not counted: it is the broker). Measures the time
 * until every node knows every other (and, on the mesh, is linked to it), the links held,
 * the memory one node costs (heap + external and RSS after a forced GC, over the process
 * before the servers started, divided by N), and the bytes the idle cluster writes and reads
 * per node per second (heartbeats and gossip) over a window in which nothing else runs:
 * the bytes written to and read from every TCP socket of the process (clone links, NATS
 * connections, bench/lib/socket-bytes.ts). Not the process's I/O counters
 * (/proc/self/io): they also count file writes, such as a module compiled and cached on first
 * use, which put a few KB into some windows: divided by two nodes, that made 2 nodes look
 * costlier than 8.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseCurveArgument } from '../lib/curve-config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, runLoadChild } from '../lib/load-child.js';
import { countSocketBytes } from '../lib/socket-bytes.js';
import { takeSnapshot } from '../lib/snapshot.js';
import { loadWsMesh, loadWsMeshNats } from '../lib/wsmesh-module.js';
import { startOnFreePort, type MeshServer } from '../lib/wsmesh-node.js';

const wsmesh = await loadWsMesh();

/** Bytes of the process's TCP sockets (clone links, NATS connections). */
const bytesMoved = countSocketBytes();

/** Starts `size` nodes: clones (told nothing yet) or nodes on NATS at `natsPort`. */
async function startNodes(size: number, natsPort: number | undefined): Promise<MeshServer[]> {
  const servers: MeshServer[] = [];
  if (natsPort === undefined) {
    for (let index = 0; index < size; index++) {
      servers.push(await startOnFreePort(wsmesh.Server, { id: `c${index}` }, () => undefined));
    }
    return servers;
  }
  const { natsBackplane } = await loadWsMeshNats();
  for (let index = 0; index < size; index++) {
    const server = new wsmesh.Server({
      id: `c${index}`,
      host: '127.0.0.1',
      port: 0,
      silent: true,
      backplane: natsBackplane({ servers: `nats://127.0.0.1:${natsPort}` }),
    });
    await server.start();
    servers.push(server);
  }
  return servers;
}

async function main(): Promise<Metrics> {
  const config = parseCurveArgument(childArgument(), ['clones', 'limitMs', 'idleMs']);
  const size = config.clones;
  const nats = config.contender === 'wsmesh-nats';
  const natsPort = nats ? (config as { natsPorts?: number[] }).natsPorts?.[0] : undefined;
  if (nats && natsPort === undefined) throw new Error('wsmesh-nats: no nats-server');
  // One node started and stopped first, so what every node loads once is not counted.
  for (const warmup of await startNodes(1, natsPort)) await warmup.stop();
  await delay(100);
  const before = takeSnapshot(true);
  let servers: MeshServer[] = [];
  try {
    // On NATS the nodes find each other as they start: the clock starts before the first.
    const start = performance.now();
    servers = await startNodes(size, natsPort);
    for (let index = 1; index < size && !nats; index++) {
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
      if (
        Number.isNaN(linkMs) &&
        servers.every((s) => s.clones.linkedIds().length === size - 1 || nats)
      ) {
        linkMs = elapsed;
      }
      if (elapsed > config.limitMs) throw new Error(`${size} clones not converged in time`);
      await delay(1);
    }
    // Let the last digests of the convergence go by before the idle window.
    await delay(Math.min(2_000, config.idleMs / 2));
    const converged = takeSnapshot(true);
    const movedBefore = bytesMoved();
    const idleStart = performance.now();
    await delay(config.idleMs);
    const idleSeconds = (performance.now() - idleStart) / 1000;
    const moved = bytesMoved();
    const written = moved.written - movedBefore.written;
    const read = moved.read - movedBefore.read;
    // Mesh: links between clones; NATS: one connection per node, to the broker.
    const links = nats
      ? size
      : servers.reduce((sum, server) => sum + server.clones.linkedIds().length, 0) / 2;
    return {
      knowMs,
      linkMs,
      links,
      linksPerClone: nats ? 1 : (links * 2) / size,
      idleBytesPerClonePerSec: written / idleSeconds / size,
      idleReadBytesPerClonePerSec: read / idleSeconds / size,
      heapKbPerClone:
        (converged.heapUsed + converged.external - before.heapUsed - before.external) / 1024 / size,
      rssKbPerClone: (converged.rss - before.rss) / 1024 / size,
    };
  } finally {
    await Promise.all(servers.map((server) => server.stop().catch(() => undefined)));
  }
}

runLoadChild(main);
