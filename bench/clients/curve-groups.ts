/**
 * Curve "groups per connection" (wsmesh only): C connections each join the same G groups.
 * Measures what one membership costs the server (heap + external and RSS after a forced GC,
 * CPU and wall time to join, CPU to leave when the connections close) and whether fan-out to
 * one of the groups slows down as every connection is in more groups (it should not).
 * @module
 */
import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import { parseCurveArgument } from '../lib/curve-config.js';
import type { Metrics } from '../lib/ipc.js';
import { childArgument, probeServer, runLoadChild } from '../lib/load-child.js';
import { padFor } from '../lib/payload.js';
import { cpuMicros } from '../lib/snapshot.js';
import { loadWsMesh } from '../lib/wsmesh-module.js';
import { DeliveryCounter } from './delivery-counter.js';

const wsmesh = await loadWsMesh();
type Client = InstanceType<typeof wsmesh.Client>;

const BURST = 20;
const WINDOW = 100;
const STALL_MS = 3_000;

async function main(): Promise<Metrics> {
  const config = parseCurveArgument(childArgument(), ['connections', 'groups', 'messages']);
  const { connections, groups, messages } = config;
  const url = `ws://127.0.0.1:${config.port}/`;
  const counter = new DeliveryCounter(connections, messages);
  const clients: Client[] = [];
  for (let index = 0; index < connections; index++) {
    const client = new wsmesh.Client({ url, reconnect: false, silent: true });
    client.addRoute({ route: 'm', handler: ({ data }) => counter.receive(index, data) });
    await client.start();
    clients.push(client);
  }
  await delay(200);
  // Memory after a forced GC; CPU around the joins only (a forced GC costs CPU too).
  const before = await probeServer(true);
  const cpuBefore = await probeServer();
  const joinStart = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      for (let group = 0; group < groups; group++) await client.subscribe({ id: `g${group}` });
    }),
  );
  const joinMs = performance.now() - joinStart;
  const cpuJoined = await probeServer();
  await delay(200);
  const joined = await probeServer(true);
  const memberships = connections * groups;

  const publisher = new wsmesh.Client({ url, reconnect: false, silent: true });
  await publisher.start();
  const pad = padFor(100);
  const serverBefore = await probeServer();
  const start = performance.now();
  for (let sent = 0; sent < messages;) {
    for (let index = 0; index < BURST && sent < messages; index++, sent++) {
      publisher.sendMesToGroup({ id: 'g0', route: 'm', data: { seq: sent, pad } }).catch(() => {});
    }
    const target = Math.max(0, sent - WINDOW) * connections;
    if (!(await counter.waitForTotal(target, STALL_MS))) throw new Error('deliveries stalled');
  }
  if (!(await counter.waitForTotal(messages * connections, STALL_MS))) {
    throw new Error(`deliveries stalled at ${counter.total} of ${messages * connections}`);
  }
  const seconds = (performance.now() - start) / 1000;
  const serverAfter = await probeServer();
  await publisher.stop();

  const leaveBefore = await probeServer();
  await Promise.all(clients.map((client) => client.stop()));
  await delay(300);
  const leaveAfter = await probeServer();
  const heapBytes = (s: typeof before): number => s.heapUsed + s.external;
  return {
    memberships,
    joinUsPerMembership: (joinMs * 1000) / memberships,
    joinCpuUsPerMembership: cpuMicros(cpuBefore, cpuJoined) / memberships,
    heapBytesPerMembership: (heapBytes(joined) - heapBytes(before)) / memberships,
    rssBytesPerMembership: (joined.rss - before.rss) / memberships,
    deliveriesPerSec: counter.total / seconds,
    serverCpuUs: cpuMicros(serverBefore, serverAfter) / Math.max(counter.total, 1),
    leaveCpuUsPerMembership: cpuMicros(leaveBefore, leaveAfter) / memberships,
  };
}

runLoadChild(main);
