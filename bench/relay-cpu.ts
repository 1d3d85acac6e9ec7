/**
 * What two clones spend, both summed, on each group message relayed between them, as in S3
 * but without the fan-out: a hub clone publishes (`server.groups.sendMes`), the message goes
 * over the clone link as CLONE_RELAY, and the other clone hands it to a few subscribers. The
 * subscribers (wsmesh clients from src/) run in a child process, so the CPU measured is the
 * two servers' only: process CPU microseconds per relayed message, median over rounds.
 * Nothing else runs in this process, so the figure depends little on the machine's load.
 *
 * Contenders: wsmesh from src/ through tsx, or each build named with `--entry` (A/B in one
 * process, rounds alternate between them; the first round is a warm-up).
 *
 * ```sh
 * npx tsx bench/relay-cpu.ts                                       # wsmesh from src/
 * npx tsx bench/relay-cpu.ts --entry a/dist/index.js --entry b/dist/index.js   # A/B
 * npx tsx bench/relay-cpu.ts --json 1 --msgpack 1 --messages 20000 --rounds 9 --bytes 100
 * ```
 * @module
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type * as WsMesh from '../src/index.js';

const { values } = parseArgs({
  options: {
    entry: { type: 'string', multiple: true },
    json: { type: 'string', default: '1' },
    msgpack: { type: 'string', default: '0' },
    messages: { type: 'string', default: '20000' },
    burst: { type: 'string', default: '50' },
    bytes: { type: 'string', default: '100' },
    rounds: { type: 'string', default: '9' },
    child: { type: 'string' },
  },
});

type Server = InstanceType<typeof WsMesh.Server>;

/** Child side: clients subscribed to `g` on the given url; tells the parent when it got `n` each. */
async function runSubscribers(url: string): Promise<void> {
  const { Client } = await import('../src/index.js');
  const counts: number[] = [];
  let expected = Infinity;
  const check = (): void => {
    if (counts.every((count) => count >= expected)) {
      expected = Infinity;
      process.send?.('done');
    }
  };
  const codecs = [
    ...Array.from({ length: Number(values.json) }, () => 'json' as const),
    ...Array.from({ length: Number(values.msgpack) }, () => 'msgpack' as const),
  ];
  const clients = await Promise.all(
    codecs.map(async (codec, index) => {
      counts[index] = 0;
      const client = new Client({ url, codec, reconnect: false, silent: true });
      client.addRoute({
        route: 'm',
        handler: () => {
          counts[index] = (counts[index] ?? 0) + 1;
          if (counts[index] === expected) check();
        },
      });
      await client.start();
      await client.subscribe({ id: 'g' });
      return client;
    }),
  );
  process.on('message', (message: { expect?: number; stop?: true }) => {
    if (message.stop === true) {
      void Promise.all(clients.map((client) => client.stop())).then(() => process.exit(0));
      return;
    }
    counts.fill(0);
    expected = message.expect ?? Infinity;
  });
  process.send?.('ready');
}

interface Contender {
  name: string;
  hub: Server;
  clone: Server;
  child: ChildProcess;
}

function once(child: ChildProcess, wanted: string): Promise<void> {
  return new Promise((done, fail) => {
    const onMessage = (message: unknown): void => {
      if (message !== wanted) return;
      child.off('message', onMessage);
      child.off('exit', onExit);
      done();
    };
    const onExit = (): void => fail(new Error(`subscriber child exited before "${wanted}"`));
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

async function until(ready: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!ready()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((done) => setTimeout(done, 10));
  }
}

async function contender(name: string, module: typeof WsMesh): Promise<Contender> {
  const hub = new module.Server({ id: 'hub', host: '127.0.0.1', port: 0, silent: true });
  const clone = new module.Server({ id: 'clone', host: '127.0.0.1', port: 0, silent: true });
  await hub.start();
  await clone.start();
  clone.addClone({ id: 'hub', url: `ws://127.0.0.1:${String(hub.port)}` });
  await until(() => hub.clones.linkedIds().length === 1, `${name}: clones linked`);
  const script = fileURLToPath(import.meta.url);
  const args = ['--import', 'tsx', script, '--child', `ws://127.0.0.1:${String(clone.port)}`];
  args.push('--json', String(values.json), '--msgpack', String(values.msgpack));
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await once(child, 'ready');
  // The hub learns the clone's interest through its record.
  await until(
    () => hub.groups.sendMes({ id: 'g', route: 'warm', data: null }) >= 0 && hubKnowsInterest(hub),
    `${name}: interest known`,
  );
  return { name, hub, clone, child };
}

function hubKnowsInterest(hub: Server): boolean {
  const stats = hub.stats() as unknown as { clones?: { relayedOut?: number } };
  return (stats.clones?.relayedOut ?? 0) > 0;
}

const payload = { seq: 0, pad: 'x'.repeat(Math.max(0, Number(values.bytes) - 20)) };

/** One round: CPU microseconds per relayed message in this process (both servers). */
async function round(entry: Contender, messages: number, burst: number): Promise<number> {
  await new Promise((done) => setImmediate(done));
  entry.child.send({ expect: messages });
  const finished = once(entry.child, 'done');
  const before = process.cpuUsage();
  for (let sent = 0; sent < messages;) {
    for (let index = 0; index < burst && sent < messages; index++, sent++) {
      payload.seq = sent;
      entry.hub.groups.sendMes({ id: 'g', route: 'm', data: payload });
    }
    // Lets the link's socket write and the clone read before the next burst.
    await new Promise((done) => setImmediate(done));
  }
  await finished;
  const used = process.cpuUsage(before);
  return (used.user + used.system) / messages;
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const entries = values.entry ?? [];
  const contenders: Contender[] = [];
  if (entries.length === 0) {
    contenders.push(await contender('wsmesh (src)', await import('../src/index.js')));
  }
  for (const entry of entries) {
    const loaded = (await import(pathToFileURL(resolve(entry)).href)) as typeof WsMesh;
    contenders.push(await contender(`wsmesh ${entry}`, loaded));
  }
  const messages = Number(values.messages);
  const burst = Number(values.burst);
  const rounds = Number(values.rounds);
  const results = new Map(contenders.map((entry) => [entry, [] as number[]]));
  try {
    for (let index = 0; index <= rounds; index++) {
      const order = index % 2 === 0 ? contenders : [...contenders].reverse();
      for (const entry of order) {
        const us = await round(entry, messages, burst);
        if (index > 0) results.get(entry)?.push(us);
      }
    }
  } finally {
    for (const entry of contenders) {
      entry.child.send({ stop: true });
      await entry.hub.stop();
      await entry.clone.stop();
    }
  }
  console.log(
    `${messages} messages of ~${values.bytes} B relayed hub -> clone, ${values.json} JSON + ` +
      `${values.msgpack} MessagePack subscribers on the clone; ${rounds} rounds`,
  );
  const width = Math.max(...contenders.map((entry) => entry.name.length));
  console.log(`  ${'contender'.padEnd(width)}  CPU us/message (both servers): median  min  max`);
  for (const entry of contenders) {
    const list = results.get(entry) ?? [];
    const cells = [median(list), Math.min(...list), Math.max(...list)].map((value) =>
      value.toFixed(3).padStart(7),
    );
    console.log(`  ${entry.name.padEnd(width)}  ${' '.repeat(30)}${cells.join('')}`);
  }
}

if (values.child !== undefined) await runSubscribers(values.child);
else await main();
