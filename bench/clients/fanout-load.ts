/**
 * S2 and S3 load generator: N subscriber connections and one publisher in this process (in
 * S3 the subscribers are split over the servers, the publisher uses the first). Measures
 * the server's memory per idle subscribed connection, then publishes paced bursts (at most
 * `window` messages not yet delivered everywhere) and counts deliveries, loss and order.
 * The publisher shares this process with the subscribers so pacing needs no extra channel;
 * it sends a few thousand messages against a million deliveries, so its cost is small.
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseS2Argument, type LoadArgument, type S2Config } from '../lib/config.js';
import { hasV8Heap } from '../lib/contenders.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, probeServer, runLoadChild } from '../lib/load-child.js';
import { padFor } from '../lib/payload.js';
import { cpuMicros, takeSnapshot } from '../lib/snapshot.js';
import { slope } from '../lib/stats.js';
import type { Adapter, Publisher, Subscription } from './adapter.js';
import { loadAdapter } from './adapters/index.js';
import { DeliveryCounter } from './delivery-counter.js';

const CONNECT_BATCH = 50;
const MEMORY_STEPS = 10;

async function connectSubscribers(
  adapter: Adapter,
  config: LoadArgument<S2Config>,
  counter: DeliveryCounter,
  from: number,
  to: number,
): Promise<Subscription[]> {
  const subscriptions: Subscription[] = [];
  for (let first = from; first < to; first += CONNECT_BATCH) {
    const batch: Promise<Subscription>[] = [];
    for (let index = first; index < Math.min(first + CONNECT_BATCH, to); index++) {
      // Contiguous shares of the subscribers on each server (S3); all on one in S2.
      const port = config.ports[Math.floor((index * config.ports.length) / config.subscribers)];
      batch.push(adapter.subscribe(port ?? config.port, (data) => counter.receive(index, data)));
    }
    subscriptions.push(...(await Promise.all(batch)));
  }
  return subscriptions;
}

/**
 * Publishes `count` messages starting at `firstSeq`, in bursts, never more than `window`
 * messages ahead of full delivery. Resolves false if deliveries stalled.
 */
async function publishPaced(
  publisher: Publisher,
  counter: DeliveryCounter,
  config: LoadArgument<S2Config>,
  firstSeq: number,
  count: number,
): Promise<boolean> {
  const pad = padFor(config.payloadBytes);
  const base = counter.total;
  let sent = 0;
  while (sent < count) {
    const burst = Math.min(config.burst, count - sent);
    for (let index = 0; index < burst; index++)
      publisher.publish({ seq: firstSeq + sent + index, pad });
    sent += burst;
    const target = base + Math.max(0, sent - config.window) * config.subscribers;
    if (!(await counter.waitForTotal(target, config.stallMs))) return false;
  }
  return counter.waitForTotal(base + count * config.subscribers, config.stallMs);
}

async function main(): Promise<Metrics> {
  const config = parseS2Argument(childArgument());
  const adapter = await loadAdapter(config.contender);
  const counter = new DeliveryCounter(config.subscribers, config.warmupMessages + config.messages);

  // Memory per connection: slope of the server's memory over the number of subscribers,
  // sampled (after a full GC) at each tenth of them, so one-time costs of the first
  // connections do not count and the noise of a single RSS reading is averaged out.
  const rssPoints: [number, number][] = [];
  const jsPoints: [number, number][] = [];
  const subscriptions: Subscription[] = [];
  let connectMs = 0;
  for (let step = 1, connected = 0; step <= MEMORY_STEPS; step++) {
    const target = Math.round((config.subscribers * step) / MEMORY_STEPS);
    const stepStart = performance.now();
    subscriptions.push(...(await connectSubscribers(adapter, config, counter, connected, target)));
    connectMs += performance.now() - stepStart;
    connected = target;
    await delay(step === MEMORY_STEPS ? 500 : 200);
    const snapshot = await probeServer(true);
    rssPoints.push([connected, snapshot.rss]);
    jsPoints.push([connected, snapshot.heapUsed + snapshot.external]);
  }

  const publisher = await adapter.connectPublisher(config.port);
  const warmedUp = await publishPaced(publisher, counter, config, 0, config.warmupMessages);
  if (!warmedUp) throw new Error(`${config.contender}: deliveries stalled during warm-up`);

  const expected = config.messages * config.subscribers;
  const before = counter.total;
  const serverBefore = await probeServer();
  const clientBefore = takeSnapshot();
  const start = performance.now();
  const complete = await publishPaced(
    publisher,
    counter,
    config,
    config.warmupMessages,
    config.messages,
  );
  const end = complete ? performance.now() : counter.lastProgressAt;
  const clientAfter = takeSnapshot();
  const serverAfter = await probeServer();
  const delivered = counter.total - before;

  await publisher.close();
  await Promise.all(subscriptions.map((subscription) => subscription.close()));
  if (counter.invalid > 0)
    throw new Error(`${config.contender}: ${counter.invalid} unreadable messages`);

  const seconds = Math.max(end - start, 1) / 1000;
  return {
    deliveriesPerSec: delivered / seconds,
    lossPct: ((expected - delivered) / expected) * 100,
    outOfOrder: counter.outOfOrder,
    duplicates: counter.duplicates,
    serverCpuUs: cpuMicros(serverBefore, serverAfter) / Math.max(delivered, 1),
    clientCpuUs: cpuMicros(clientBefore, clientAfter) / Math.max(delivered, 1),
    rssKbPerConn: slope(rssPoints) / 1024,
    ...(hasV8Heap(config.contender) ? { heapKbPerConn: slope(jsPoints) / 1024 } : {}),
    connectMs,
  };
}

runLoadChild(main);
