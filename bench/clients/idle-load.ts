/**
 * S4 load generator: opens N idle connections to one server (in steps of a tenth, a bounded
 * number connecting at a time) and measures the server's memory per connection and the time
 * to have them all accepted. Memory per connection is the slope of RSS, and of V8 heap plus
 * external memory, after a forced GC at each tenth, over the last half of the steps: the
 * first steps also pay one-time costs (V8 growing its young generation, compiled code, the
 * allocator's arenas), which made RSS jump by up to three times a later step's growth and
 * moved the slope over all ten steps by up to 0.6 KB a connection between rounds. Each
 * connection is the contender's ordinary client connection.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseS4Argument } from '../lib/config.js';
import { hasV8Heap } from '../lib/contenders.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, probeServer, runLoadChild } from '../lib/load-child.js';
import { slope } from '../lib/stats.js';
import type { RpcConnection } from './adapter.js';
import { loadAdapter } from './adapters/index.js';

const STEPS = 10;
/** The memory slope is taken from this point (after step 5) on: six points, five steps. */
const STEADY_FROM = STEPS / 2 - 1;

async function main(): Promise<Metrics> {
  const config = parseS4Argument(childArgument());
  const adapter = await loadAdapter(config.contender);
  const connections: RpcConnection[] = [];
  const rssPoints: [number, number][] = [];
  const jsPoints: [number, number][] = [];
  let errors = 0;
  let acceptMs = 0;
  for (let step = 1, opened = 0; step <= STEPS; step++) {
    const target = Math.round((config.connections * step) / STEPS);
    const stepStart = performance.now();
    while (opened < target) {
      const batch = Math.min(config.concurrency, target - opened);
      const results = await Promise.allSettled(
        Array.from({ length: batch }, (_, index) =>
          adapter.connectRpc(config.ports[(opened + index) % config.ports.length] ?? config.port),
        ),
      );
      for (const result of results) {
        if (result.status === 'fulfilled') connections.push(result.value);
        else errors++;
      }
      opened += batch;
    }
    acceptMs += performance.now() - stepStart;
    await delay(step === STEPS ? 500 : 200);
    const snapshot = await probeServer(true);
    rssPoints.push([connections.length, snapshot.rss]);
    jsPoints.push([connections.length, snapshot.heapUsed + snapshot.external]);
  }
  // A sample of the connections must still work after all were opened.
  let wrong = 0;
  for (const connection of connections.slice(0, 20)) {
    if ((await connection.add(1, 2)) !== 3) wrong++;
  }
  const held = connections.length;
  await Promise.all(connections.map((connection) => connection.close().catch(() => undefined)));
  if (wrong > 0) throw new Error(`${config.contender}: ${wrong} idle connections answered wrong`);
  return {
    connections: held,
    errors,
    acceptMs,
    rssKbPerConn: slope(rssPoints.slice(STEADY_FROM)) / 1024,
    ...(hasV8Heap(config.contender)
      ? { heapKbPerConn: slope(jsPoints.slice(STEADY_FROM)) / 1024 }
      : {}),
  };
}

runLoadChild(main);
