/**
 * What a wsmesh `Client` spends on each group message it receives in packs (GROUP_MESSAGES,
 * PROTOCOL.md 2.9), as in S2, against what the `ws-batched` limit's client spends: CPU
 * nanoseconds per message and GC time. A real client connects to a fake server on
 * 127.0.0.1 (handshake with batches and packs); then its `ws` socket is handed prepared text
 * messages through its 'message' event, as `ws` hands them over, so the measured path is
 * everything the client does after `ws` unframed a message: UTF-8 decoding, JSON parsing,
 * validation, routing and a handler like S2's (`({ data }) => onData(data)`). No network in
 * the measured part, so the figures are steady enough to compare builds.
 *
 * Contenders: `limit` does what bench/clients/adapters/ws-batched.ts does with `ws` (UTF-8
 * check, decode, `JSON.parse` of one array, a callback per value); `floor` decodes and parses
 * the wsmesh pack and calls back per value (what any reader of this frame must do); then
 * wsmesh, from src/ through tsx, or each build named with `--entry` (A/B in one process).
 * Rounds alternate between the contenders; the first is a warm-up.
 *
 * ```sh
 * npx tsx bench/client-receive.ts                      # wsmesh from src/ (tsx)
 * npm run build && npx tsx bench/client-receive.ts --entry dist/index.js
 * npx tsx bench/client-receive.ts --entry a/index.js --entry b/index.js   # A/B of two builds
 * npx tsx bench/client-receive.ts --pack 24 --bytes 100 --packs 8000 --rounds 15
 * npx tsx bench/client-receive.ts --middleware          # with one client middleware
 * npx tsx bench/client-receive.ts --mes --groups 2      # the handler reads mes.group too
 * npx tsx bench/client-receive.ts --clients 500 --pack 20   # as S2: packs go round 500 clients
 * ```
 * @module
 */
import { isUtf8 } from 'node:buffer';
import { EventEmitter } from 'node:events';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { GCProfiler } from 'node:v8';
import { WebSocketServer, type WebSocket } from 'ws';
import type * as WsMesh from '../src/index.js';

const { values } = parseArgs({
  options: {
    entry: { type: 'string', multiple: true },
    pack: { type: 'string', default: '24' },
    bytes: { type: 'string', default: '100' },
    packs: { type: 'string', default: '8000' },
    rounds: { type: 'string', default: '15' },
    groups: { type: 'string', default: '1' },
    middleware: { type: 'boolean', default: false },
    mes: { type: 'boolean', default: false },
    clients: { type: 'string', default: '1' },
  },
});
const packSize = Number(values.pack);
const packs = Number(values.packs);
const rounds = Number(values.rounds);
const groupCount = Number(values.groups);
/** Receivers per contender; packs go to them in turn (S2 has 500 in one process). */
const clientCount = Number(values.clients);

interface Contender {
  name: string;
  /** Reads wsmesh packs (else one JSON array of the payloads). */
  packs: boolean;
  /** Receiver `index` handles one text message (the bytes `ws` hands over). */
  receive(bytes: Buffer, index: number): void;
  close(): Promise<void>;
}

let delivered = 0;
let seqSum = 0;
function onData(data: unknown): void {
  delivered++;
  seqSum += (data as { seq: number }).seq;
}

/** Distinct prepared messages, so no parse sees the very same bytes twice in a row. */
function prepared(wsmesh: boolean): Buffer[] {
  const overhead = JSON.stringify({ seq: 100000, pad: '' }).length;
  const pad = 'x'.repeat(Math.max(0, Number(values.bytes) - overhead));
  const target =
    groupCount === 1 ? 'g' : Array.from({ length: groupCount }, (_, index) => `g${index}`);
  const list: Buffer[] = [];
  for (let variant = 0; variant < 64; variant++) {
    const datas = Array.from({ length: packSize }, (_, index) => ({
      seq: 100000 + variant * packSize + index,
      pad,
    }));
    const text = wsmesh ? JSON.stringify([18, target, 'm', null, datas]) : JSON.stringify(datas);
    list.push(Buffer.from(text));
  }
  return list;
}

/** A contender fed through an EventEmitter 'message' event, as `ws` feeds its listeners. */
function emitted(
  name: string,
  packs: boolean,
  listener: (each: (data: unknown) => void) => (bytes: Buffer, isBinary: boolean) => void,
): Contender {
  // One emitter and closures per receiver, as each subscriber of the adapter has its own.
  const emitters = Array.from({ length: clientCount }, () => {
    const emitter = new EventEmitter();
    emitter.on(
      'message',
      listener((data) => onData(data)),
    );
    return emitter;
  });
  return {
    name,
    packs,
    receive: (bytes, index) => emitters[index]?.emit('message', bytes, false),
    close: () => Promise.resolve(),
  };
}

function limit(): Contender {
  // What `ws` does for a text message (it checks UTF-8 first), then what the adapter does.
  return emitted('limit (ws-batched)', false, (each) => (bytes) => {
    if (!isUtf8(bytes)) throw new Error('not UTF-8');
    for (const value of JSON.parse(bytes.toString('utf8')) as unknown[]) each(value);
  });
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function floor(): Contender {
  return emitted('floor (parse the pack)', true, (each) => (bytes) => {
    const frame = JSON.parse(fatalDecoder.decode(bytes)) as unknown[];
    for (const value of frame[4] as unknown[]) each(value);
  });
}

/** A server that only answers HELLO with WELCOME (batches and packs on). */
async function fakeServer(): Promise<{ url: string; close(): Promise<void> }> {
  const wss = new WebSocketServer({
    host: '127.0.0.1',
    port: 0,
    perMessageDeflate: false,
    handleProtocols: (protocols) => (protocols.has('wsmesh.v1.json') ? 'wsmesh.v1.json' : false),
  });
  await new Promise<void>((done) => wss.once('listening', () => done()));
  wss.on('connection', (ws: WebSocket) => {
    ws.once('message', () => {
      const welcome = { v: 2, serverId: 'x', connectionId: 'c', maxPayload: 1 << 20 };
      ws.send(JSON.stringify([1, { ...welcome, batch: true, pack: true }]));
    });
  });
  const { port } = wss.address() as { port: number };
  return {
    url: `ws://127.0.0.1:${port}/`,
    close: () =>
      new Promise<void>((done) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => done());
      }),
  };
}

interface ReceivingSocket {
  ws: { emit(event: 'message', data: Buffer, isBinary: boolean): boolean };
}

async function wsmeshContender(name: string, module: typeof WsMesh): Promise<Contender> {
  const server = await fakeServer();
  const clients: WsMesh.Client[] = [];
  const sockets: ReceivingSocket[] = [];
  for (let index = 0; index < clientCount; index++) {
    const [client, socket] = await wsmeshClient(name, module, server.url);
    clients.push(client);
    sockets.push(socket);
  }
  const webSockets = sockets.map((socket) => socket.ws);
  return {
    name,
    packs: true,
    // The WebSockets themselves, as `ws` emits on them (no hop through another object).
    receive: (bytes, index) => webSockets[index]?.emit('message', bytes, false),
    close: async () => {
      await Promise.all(clients.map((client) => client.stop()));
      await server.close();
    },
  };
}

async function wsmeshClient(
  name: string,
  module: typeof WsMesh,
  url: string,
): Promise<[WsMesh.Client, ReceivingSocket]> {
  const client = new module.Client({ url, reconnect: false, silent: true });
  client.on('error', (error: unknown) => console.error(name, error));
  if (values.middleware) client.use(() => undefined);
  client.addRoute({
    route: 'm',
    handler: values.mes
      ? ({ data, mes }) => {
          if (mes.group !== null) onData(data);
        }
      : ({ data }) => {
          onData(data);
        },
  });
  await client.start();
  // Internal: the `ws` WebSocket of the open connection, whose 'message' event is the start.
  const internal = client as unknown as {
    connector: { connection: { socket: ReceivingSocket } | undefined };
  };
  const socket = internal.connector.connection?.socket;
  if (socket === undefined) throw new Error(`${name}: no connection`);
  return [client, socket];
}

/** One round: CPU ns per message and GC ms per million messages. */
async function round(contender: Contender, list: Buffer[]): Promise<[number, number]> {
  delivered = 0;
  await new Promise((done) => setImmediate(done));
  const profiler = new GCProfiler();
  profiler.start();
  const before = process.cpuUsage();
  for (let index = 0, to = 0; index < packs; index++) {
    contender.receive(list[index & 63] as Buffer, to);
    if (++to === clientCount) to = 0;
  }
  const used = process.cpuUsage(before);
  let gcUs = 0;
  for (const gc of profiler.stop().statistics) gcUs += gc.cost;
  if (delivered !== packs * packSize) {
    throw new Error(`${contender.name}: ${delivered} of ${packs * packSize} delivered`);
  }
  const messages = packs * packSize;
  return [((used.user + used.system) * 1000) / messages, (gcUs * 1e3) / messages];
}

function median(list: number[]): number {
  const sorted = [...list].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

const entries = values.entry ?? [];
const contenders: Contender[] = [limit(), floor()];
if (entries.length === 0) {
  contenders.push(await wsmeshContender('wsmesh (src)', await import('../src/index.js')));
}
for (const entry of entries) {
  const loaded = (await import(pathToFileURL(resolve(entry)).href)) as typeof WsMesh;
  contenders.push(await wsmeshContender(`wsmesh ${entry}`, loaded));
}
const messagesOf = { packs: prepared(true), arrays: prepared(false) };
const results = new Map(contenders.map((c) => [c, { ns: [] as number[], gc: [] as number[] }]));
// The first round warms the compiler up and is not counted.
for (let index = 0; index <= rounds; index++) {
  const order = index % 2 === 0 ? contenders : [...contenders].reverse();
  for (const contender of order) {
    const list = contender.packs ? messagesOf.packs : messagesOf.arrays;
    const [ns, gc] = await round(contender, list);
    if (index === 0) continue;
    results.get(contender)?.ns.push(ns);
    results.get(contender)?.gc.push(gc);
  }
}
for (const contender of contenders) await contender.close();
if (seqSum === 0) throw new Error('nothing was read');

const width = Math.max(...contenders.map((contender) => contender.name.length));
console.log(
  `${packs} packs of ${packSize} messages of ~${values.bytes} B, ${groupCount} group(s)` +
    `${values.middleware ? ', one middleware' : ''}${values.mes ? ', handler reads mes' : ''}` +
    `${clientCount > 1 ? `, ${clientCount} clients in turn` : ''};` +
    ` ${rounds} rounds`,
);
console.log(`  ${'contender'.padEnd(width)}  ns/message: median  min  max   GC ms per 1M messages`);
for (const contender of contenders) {
  const { ns, gc } = results.get(contender) as { ns: number[]; gc: number[] };
  const cells = [median(ns), Math.min(...ns), Math.max(...ns)].map((value) =>
    value.toFixed(0).padStart(5),
  );
  console.log(
    `  ${contender.name.padEnd(width)}  ${' '.repeat(7)}${cells.join('')}   ${median(gc).toFixed(1).padStart(8)}`,
  );
}
