/**
 * S1 load generator: one connection; warm-up, then N calls one at a time (latency of each),
 * then M calls with a fixed number in flight. Reports throughput, latency percentiles and
 * CPU time per call of this process and of the server process.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { parseS1Argument } from '../lib/config.js';
import type { Metrics, Snapshot } from '../lib/ipc.js';
import { childArgument, probeServer, runLoadChild } from '../lib/load-child.js';
import { cpuMicros, takeSnapshot } from '../lib/snapshot.js';
import { quantileSorted } from '../lib/stats.js';
import type { RpcConnection } from './adapter.js';
import { loadAdapter } from './adapters/index.js';

/** Makes `count` calls one after the other; records each latency (ms) when given an array. */
async function sequential(
  rpc: RpcConnection,
  count: number,
  latencies?: Float64Array,
): Promise<number> {
  let wrong = 0;
  for (let index = 0; index < count; index++) {
    const start = performance.now();
    const result = await rpc.add(index, 1);
    if (latencies !== undefined) latencies[index] = performance.now() - start;
    if (result !== index + 1) wrong++;
  }
  return wrong;
}

/** Makes `count` calls keeping `inFlight` outstanding. */
async function pipelined(rpc: RpcConnection, count: number, inFlight: number): Promise<number> {
  let issued = 0;
  let wrong = 0;
  const worker = async (): Promise<void> => {
    while (issued < count) {
      const index = issued++;
      const result = await rpc.add(index, 1);
      if (result !== index + 1) wrong++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(inFlight, count) }, worker));
  return wrong;
}

interface Window {
  seconds: number;
  serverCpu: number;
  clientCpu: number;
}

/** Runs `body` between snapshots of both processes. */
async function measured(body: () => Promise<number>): Promise<Window & { wrong: number }> {
  const serverBefore: Snapshot = await probeServer();
  const clientBefore = takeSnapshot();
  const start = performance.now();
  const wrong = await body();
  const seconds = (performance.now() - start) / 1000;
  const clientAfter = takeSnapshot();
  const serverAfter = await probeServer();
  return {
    seconds,
    serverCpu: cpuMicros(serverBefore, serverAfter),
    clientCpu: cpuMicros(clientBefore, clientAfter),
    wrong,
  };
}

async function main(): Promise<Metrics> {
  const config = parseS1Argument(childArgument());
  const adapter = await loadAdapter(config.contender);
  const rpc = await adapter.connectRpc(config.port);
  let wrong = await sequential(rpc, config.warmupCalls);
  wrong += await pipelined(rpc, config.warmupCalls * 2, config.inFlight);

  const latencies = new Float64Array(config.sequentialCalls);
  const seq = await measured(() => sequential(rpc, config.sequentialCalls, latencies));
  const pipe = await measured(() => pipelined(rpc, config.pipelinedCalls, config.inFlight));
  wrong += seq.wrong + pipe.wrong;
  const streamMetrics: Metrics = {};
  const { stream } = rpc;
  if (stream !== undefined && config.streamItems > 0) {
    // Warm-up stream, then the measured one; every item must arrive in order.
    const consume = async (count: number): Promise<number> => {
      let expected = 0;
      let bad = 0;
      for await (const item of stream.call(rpc, count)) {
        if (item !== expected) bad++;
        expected++;
      }
      return bad + Math.abs(count - expected);
    };
    wrong += await consume(Math.min(config.streamItems, 10_000));
    const streamed = await measured(() => consume(config.streamItems));
    wrong += streamed.wrong;
    streamMetrics['stream.itemsPerSec'] = config.streamItems / streamed.seconds;
    streamMetrics['stream.serverCpuUs'] = streamed.serverCpu / config.streamItems;
    streamMetrics['stream.clientCpuUs'] = streamed.clientCpu / config.streamItems;
  }
  await rpc.close();
  if (wrong > 0) throw new Error(`${config.contender}: ${wrong} calls returned a wrong result`);

  latencies.sort();
  return {
    'seq.p50Us': quantileSorted(latencies, 0.5) * 1000,
    'seq.p99Us': quantileSorted(latencies, 0.99) * 1000,
    'seq.callsPerSec': config.sequentialCalls / seq.seconds,
    'seq.serverCpuUs': seq.serverCpu / config.sequentialCalls,
    'seq.clientCpuUs': seq.clientCpu / config.sequentialCalls,
    'pipe.callsPerSec': config.pipelinedCalls / pipe.seconds,
    'pipe.serverCpuUs': pipe.serverCpu / config.pipelinedCalls,
    'pipe.clientCpuUs': pipe.clientCpu / config.pipelinedCalls,
    ...streamMetrics,
  };
}

runLoadChild(main);
