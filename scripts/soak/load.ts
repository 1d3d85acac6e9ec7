/**
 * The soak load: SOAK_CLIENTS clients spread over the clones (each with every url, so they
 * fail over), each in one of SOAK_GROUPS groups, each publishing numbered messages to its
 * group and calling `echo` every SOAK_PERIOD ms (staggered) for SOAK_SECONDS. Reports
 * deliveries, gaps, duplicates, call latencies and errors over IPC, then exits.
 */
import { Client } from '../../src/index.js';

const urls = (process.env.SOAK_URLS ?? '').split(',');
const clients = Number(process.env.SOAK_CLIENTS ?? '2000');
const groups = Number(process.env.SOAK_GROUPS ?? '20');
const period = Number(process.env.SOAK_PERIOD ?? '10000');
const seconds = Number(process.env.SOAK_SECONDS ?? '20');

interface Tally {
  delivered: number;
  gaps: number;
  /** `recover` events: groups resumed with nothing lost, and with a gap. */
  recovered: number;
  unrecovered: number;
  duplicates: number;
  latencies: number[];
  callErrors: number;
  publishErrors: number;
  published: number;
}
const tally: Tally = {
  delivered: 0,
  gaps: 0,
  recovered: 0,
  unrecovered: 0,
  duplicates: 0,
  latencies: [],
  callErrors: 0,
  publishErrors: 0,
  published: 0,
};

const started: Client[] = [];
const timers: ReturnType<typeof setInterval>[] = [];
for (let i = 0; i < clients; i++) {
  const own = [...urls.slice(i % urls.length), ...urls.slice(0, i % urls.length)];
  const client = new Client({ id: `soak-${i}`, url: own, reconnectTimeout: 500, maxQueue: 10_000 });
  // Last sequence number seen per publisher: gaps and duplicates are counted per stream.
  const last = new Map<string, number>();
  client.addRoute({
    route: 'tick',
    handler: ({ data }) => {
      const { from, seq } = data as { from: string; seq: number };
      const previous = last.get(from) ?? 0;
      if (seq <= previous) tally.duplicates++;
      else {
        tally.gaps += seq - previous - 1;
        last.set(from, seq);
      }
      tally.delivered++;
    },
  });
  client.on('recover', ({ recovered }) => {
    if (recovered) tally.recovered++;
    else tally.unrecovered++;
  });
  started.push(client);
  if (i % 200 === 199) await new Promise((resolve) => setTimeout(resolve, 20));
}
await Promise.all(started.map((client) => client.start()));
await Promise.all(started.map((client, i) => client.subscribe({ id: `g${i % groups}` })));
const rpc = await Promise.all(started.map((client) => client.rpc('soak')));
// Let subscriptions reach every clone before counting.
await new Promise((resolve) => setTimeout(resolve, 1000));
process.send?.({ type: 'started' });

const t0 = Date.now();
started.forEach((client, i) => {
  let seq = 0;
  const proxy = rpc[i];
  const tick = (): void => {
    seq++;
    tally.published++;
    client
      .sendMesToGroup({ id: `g${i % groups}`, route: 'tick', data: { from: client.id, seq } })
      .catch(() => tally.publishErrors++);
    const sent = performance.now();
    proxy
      ?.call('echo', seq)
      .then(() => tally.latencies.push(performance.now() - sent))
      .catch(() => tally.callErrors++);
  };
  const offset = (i * period) / clients;
  timers.push(
    setTimeout(() => {
      tick();
      timers.push(setInterval(tick, period));
    }, offset) as unknown as ReturnType<typeof setInterval>,
  );
});
await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
for (const timer of timers) clearInterval(timer);
// Drain: messages in flight arrive.
await new Promise((resolve) => setTimeout(resolve, 1500));
const elapsed = (Date.now() - t0) / 1000;
tally.latencies.sort((a, b) => a - b);
const pick = (q: number): number =>
  tally.latencies[Math.min(tally.latencies.length - 1, Math.floor(q * tally.latencies.length))] ??
  0;
process.send?.({
  type: 'result',
  elapsed,
  published: tally.published,
  delivered: tally.delivered,
  expected: tally.published * (clients / groups),
  gaps: tally.gaps,
  duplicates: tally.duplicates,
  recovered: tally.recovered,
  unrecovered: tally.unrecovered,
  calls: tally.latencies.length,
  callErrors: tally.callErrors,
  publishErrors: tally.publishErrors,
  p50: pick(0.5),
  p99: pick(0.99),
});
await Promise.all(started.map((client) => client.stop()));
process.exit(0);
