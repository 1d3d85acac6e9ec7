/**
 * S6 loader (runs alone, wsmesh only): a chain of wsmesh Servers in this process (server i
 * links to server i-1 with `createServerProxy`, namespace `bench`) and an `RpcProxy` on the
 * last one. Measures the time from `origin()` on the first server until the proxy at the other
 * end can call the new function (median of the repetitions), and the latency added per
 * forwarding hop: sequential calls to a function on the first server minus calls to one on
 * the last, divided by the number of hops.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseS6Argument } from '../lib/config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, runLoadChild } from '../lib/load-child.js';
import { median, quantileSorted } from '../lib/stats.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

const wsmesh = await loadWsMesh();
type MeshServer = InstanceType<typeof wsmesh.Server>;
/** Every function of the chain takes a number and returns it. */
type ChainApi = Record<string, (x: number) => number>;
type Proxy = Awaited<ReturnType<typeof wsmesh.RpcProxy.create<ChainApi>>>;

const NAMESPACE = 'bench';

/** Calls `name` until it answers; returns the elapsed time from `start`, ms. */
async function untilCallable(
  proxy: Proxy,
  name: string,
  start: number,
  limitMs: number,
): Promise<number> {
  for (;;) {
    try {
      const result: unknown = await proxy.call(name, 1);
      if (result === 1) return performance.now() - start;
    } catch {
      // Not there yet.
    }
    if (performance.now() - start > limitMs) {
      throw new Error(`${name} not callable at the other end within ${limitMs} ms`);
    }
    await delay(1);
  }
}

/** `count` sequential calls of `name`; latencies in us, sorted. */
async function latencies(proxy: Proxy, name: string, count: number): Promise<Float64Array> {
  const values = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    const result: unknown = await proxy.call(name, index);
    values[index] = (performance.now() - start) * 1000;
    if (result !== index) throw new Error(`${name} returned ${String(result)}, not ${index}`);
  }
  return values.sort();
}

function mean(values: Float64Array): number {
  let sum = 0;
  for (const value of values) sum += value;
  return sum / Math.max(values.length, 1);
}

async function main(): Promise<Metrics> {
  const config = parseS6Argument(childArgument());
  const hops = config.chain - 1;
  const servers: MeshServer[] = [];
  let proxy: Proxy | undefined;
  try {
    for (let index = 0; index < config.chain; index++) {
      const server = new wsmesh.Server({
        id: `n${index}`,
        host: '127.0.0.1',
        port: 0,
        silent: true,
      });
      await server.start();
      const previous = servers[index - 1];
      if (previous?.port !== undefined) {
        await server.createServerProxy({
          host: '127.0.0.1',
          port: previous.port,
          namespace: NAMESPACE,
        });
      }
      servers.push(server);
    }
    const first = servers[0];
    const last = servers[servers.length - 1];
    if (first === undefined || last?.port === undefined) throw new Error('no chain');
    first.origin((x: number) => x, { namespace: NAMESPACE, name: 'far' });
    last.origin((x: number) => x, { namespace: NAMESPACE, name: 'near' });
    proxy = await wsmesh.RpcProxy.create<ChainApi>({
      host: '127.0.0.1',
      port: last.port,
      namespace: NAMESPACE,
    });
    await untilCallable(proxy, 'far', performance.now(), config.limitMs);

    const propagation: number[] = [];
    for (let repetition = 0; repetition < config.repetitions; repetition++) {
      const name = `f${repetition}`;
      const start = performance.now();
      first.origin((x: number) => x, { namespace: NAMESPACE, name });
      propagation.push(await untilCallable(proxy, name, start, config.limitMs));
      await delay(20);
    }

    await latencies(proxy, 'near', config.calls);
    await latencies(proxy, 'far', config.calls);
    const near = await latencies(proxy, 'near', config.calls);
    const far = await latencies(proxy, 'far', config.calls);
    const nearP50 = quantileSorted(near, 0.5);
    const farP50 = quantileSorted(far, 0.5);
    return {
      propagationMs: median(propagation),
      propagationMaxMs: Math.max(...propagation),
      localP50Us: nearP50,
      farP50Us: farP50,
      perHopUs: (farP50 - nearP50) / hops,
      perHopMeanUs: (mean(far) - mean(near)) / hops,
    };
  } finally {
    await proxy?.close().catch(() => undefined);
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
  }
}

runLoadChild(main);
