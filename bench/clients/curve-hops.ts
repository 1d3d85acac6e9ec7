/**
 * Curve "RPC hops" (wsmesh only): a chain of H + 1 wsmesh Servers in this process (each links
 * to the previous one with `createServerProxy`, namespace `bench`) and an `RpcProxy` on the
 * last. Measures sequential call latency to a function H hops away against one on the proxy's
 * own server (the difference divided by H is the cost of one hop), and the items/s of a
 * stream produced H hops away.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseCurveArgument } from '../lib/curve-config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, runLoadChild } from '../lib/load-child.js';
import { quantileSorted } from '../lib/stats.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import type { MeshServer } from '../lib/wsmesh-node.js';

const wsmesh = await loadWsMesh();
interface ChainApi {
  far(x: number): number;
  near(x: number): number;
  items(count: number): AsyncGenerator<number>;
}
type Proxy = Awaited<ReturnType<typeof wsmesh.RpcProxy.create<ChainApi>>>;

const NAMESPACE = 'bench';
const LIMIT_MS = 10_000;

async function untilCallable(proxy: Proxy): Promise<void> {
  const deadline = performance.now() + LIMIT_MS;
  for (;;) {
    const result = await proxy.call('far', 1).catch(() => undefined);
    if (result === 1) return;
    if (performance.now() > deadline) throw new Error('far not callable through the chain');
    await delay(5);
  }
}

async function p50(proxy: Proxy, name: 'far' | 'near', count: number): Promise<number> {
  const values = new Float64Array(count);
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    const result = await proxy.call(name, index);
    values[index] = (performance.now() - start) * 1000;
    if (result !== index) throw new Error(`${name} returned ${String(result)}, not ${index}`);
  }
  return quantileSorted(values.sort(), 0.5);
}

async function main(): Promise<Metrics> {
  const config = parseCurveArgument(childArgument(), ['hops', 'calls', 'streamItems']);
  const servers: MeshServer[] = [];
  let proxy: Proxy | undefined;
  try {
    for (let index = 0; index <= config.hops; index++) {
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
    first.origin(
      async function* items(count: number) {
        for (let index = 0; index < count; index++) yield index;
      },
      { namespace: NAMESPACE },
    );
    last.origin((x: number) => x, { namespace: NAMESPACE, name: 'near' });
    proxy = await wsmesh.RpcProxy.create<ChainApi>({
      host: '127.0.0.1',
      port: last.port,
      namespace: NAMESPACE,
    });
    await untilCallable(proxy);
    await p50(proxy, 'near', config.calls);
    await p50(proxy, 'far', config.calls);
    const near = await p50(proxy, 'near', config.calls);
    const far = await p50(proxy, 'far', config.calls);
    const consume = async (count: number): Promise<number> => {
      let expected = 0;
      for await (const item of proxy?.stream('items', count) ?? []) {
        if (item !== expected) throw new Error(`stream item ${String(item)}, not ${expected}`);
        expected++;
      }
      return expected;
    };
    await consume(Math.min(config.streamItems, 5_000));
    const start = performance.now();
    const received = await consume(config.streamItems);
    const seconds = (performance.now() - start) / 1000;
    return {
      nearP50Us: near,
      farP50Us: far,
      perHopUs: (far - near) / config.hops,
      streamItemsPerSec: received / seconds,
    };
  } finally {
    await proxy?.close().catch(() => undefined);
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
  }
}

runLoadChild(main);
