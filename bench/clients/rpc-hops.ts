/**
 * RPC forwarding costs along a chain of 4 servers in one process (n0 <- n1 <- n2 <- n3, each
 * linked to the previous with `createServerProxy`) and an `RpcProxy` on n3: sequential call
 * latency to a function 0 to 3 hops away, and stream throughput (items/s) from a generator on
 * n0 (3 hops) and on n3 (0 hops), each with the CPU time it took (every server and the proxy
 * run in this process, so CPU per call or item is the whole chain's; steadier than wall time
 * on a busy machine).
 *
 * Run alone (not part of `npm run bench`), against the sources or a tsc build:
 * `npx tsx bench/clients/rpc-hops.ts [--rounds 3] [--calls 3000] [--items 200000] [--size 0]
 * [--codec json]` (`--size`: bytes of padding in every result and item; `--codec`: the
 * proxy's codec, server links always speak MessagePack), with
 * `WSMESH_BENCH_ENTRY=<build>/index.js` to measure a build. Prints one JSON line per round and
 * the medians over the rounds.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { median, quantileSorted } from '../lib/stats.js';
import type { RpcProxy } from '../../src/index.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';

const wsmesh = await loadWsMesh();
type MeshServer = InstanceType<typeof wsmesh.Server>;
type Proxy = RpcProxy;

const NAMESPACE = 'bench';
const CHAIN = 4;

const { values: flags } = parseArgs({
  options: {
    rounds: { type: 'string', default: '3' },
    calls: { type: 'string', default: '3000' },
    items: { type: 'string', default: '200000' },
    size: { type: 'string', default: '0' },
    codec: { type: 'string', default: 'json' },
  },
});
const rounds = Number(flags.rounds);
const calls = Number(flags.calls);
const items = Number(flags.items);
/** Bytes of padding in every result and stream item (0: the bare number). */
const size = Number(flags.size);
const codec = flags.codec === 'msgpack' ? 'msgpack' : 'json';
const PAD = 'x'.repeat(size);

/** A result or item: the number, or the number with `size` bytes of padding. */
function value(x: number): unknown {
  return size === 0 ? x : { x, pad: PAD };
}

/** The number a result or item carries. */
function numberOf(result: unknown): unknown {
  return size === 0 ? result : (result as { x?: unknown } | null)?.x;
}

async function until(proxy: Proxy, name: string): Promise<void> {
  const deadline = performance.now() + 10_000;
  for (;;) {
    try {
      if (numberOf(await proxy.call(name, 1)) === 1) return;
    } catch {
      // Not there yet.
    }
    if (performance.now() > deadline) throw new Error(`${name} not callable`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** CPU time (us, every server and the proxy: they share this process) since `start`. */
function cpuSince(start: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(start);
  return used.user + used.system;
}

/**
 * Median latency (us) of `calls` sequential calls of `name`, after as many warm-up calls, and
 * the CPU time per call (us) of the measured ones.
 */
async function latency(proxy: Proxy, name: string): Promise<{ p50: number; cpu: number }> {
  const values = new Float64Array(calls);
  let cpu = 0;
  for (let round = 0; round < 2; round++) {
    const started = process.cpuUsage();
    for (let index = 0; index < calls; index++) {
      const start = performance.now();
      await proxy.call(name, index);
      values[index] = (performance.now() - start) * 1000;
    }
    cpu = cpuSince(started) / calls;
  }
  return { p50: quantileSorted(values.sort(), 0.5), cpu };
}

/** Items per second of one stream of `items` numbers from `name`, and CPU (us) per item. */
async function throughput(proxy: Proxy, name: string): Promise<{ rate: number; cpu: number }> {
  const started = process.cpuUsage();
  const start = performance.now();
  let received = 0;
  for await (const item of proxy.stream(name, items)) {
    if (numberOf(item) !== received) throw new Error(`item ${String(item)} out of order`);
    received++;
  }
  if (received !== items) throw new Error(`${received} of ${items} items`);
  return {
    rate: received / ((performance.now() - start) / 1000),
    cpu: cpuSince(started) / received,
  };
}

async function round(): Promise<Record<string, number>> {
  const servers: MeshServer[] = [];
  let proxy: Proxy | undefined;
  try {
    for (let index = 0; index < CHAIN; index++) {
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
      server.origin((x: number) => value(x), { namespace: NAMESPACE, name: `f${index}` });
      server.origin(
        function* (count: number) {
          for (let item = 0; item < count; item++) yield value(item);
        },
        { namespace: NAMESPACE, name: `items${index}` },
      );
    }
    const last = servers[CHAIN - 1];
    if (last?.port === undefined) throw new Error('no chain');
    proxy = await wsmesh.RpcProxy.create({
      host: '127.0.0.1',
      port: last.port,
      namespace: NAMESPACE,
      codec,
    });
    await until(proxy, 'f0');
    const result: Record<string, number> = {};
    const local = await latency(proxy, `f${CHAIN - 1}`);
    result.hops0Us = local.p50;
    for (let hops = 1; hops < CHAIN; hops++) {
      const far = await latency(proxy, `f${CHAIN - 1 - hops}`);
      result[`hops${hops}Us`] = far.p50;
      result[`perHop${hops}Us`] = (far.p50 - local.p50) / hops;
      if (hops === CHAIN - 1) result.perHopCpuUs = (far.cpu - local.cpu) / hops;
    }
    const near = await throughput(proxy, `items${CHAIN - 1}`);
    const far = await throughput(proxy, 'items0');
    result.stream0ItemsPerS = near.rate;
    result.stream3ItemsPerS = far.rate;
    result.stream0CpuUsPerItem = near.cpu;
    result.stream3CpuUsPerItem = far.cpu;
    return result;
  } finally {
    await proxy?.close().catch(() => undefined);
    for (const server of servers.reverse()) await server.stop().catch(() => undefined);
  }
}

const results: Record<string, number>[] = [];
for (let index = 0; index < rounds; index++) {
  const result = await round();
  console.log(JSON.stringify(result));
  results.push(result);
}
const medians: Record<string, number> = {};
for (const key of Object.keys(results[0] ?? {})) {
  medians[key] = Math.round(median(results.map((result) => result[key] ?? 0)) * 1000) / 1000;
}
console.log('median', JSON.stringify(medians));
