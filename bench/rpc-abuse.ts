/**
 * What hostile RPC loads cost a server: one connection opening many slow calls, one opening
 * many suspended streams, many connections watching many namespaces and then closing. Prints
 * the server's heap growth (after a forced GC) and how the server answered.
 *
 *   node --expose-gc --import tsx bench/rpc-abuse.ts [count]
 *
 * Server and raw clients share this process; the clients keep counters only, so the heap
 * growth is the server's.
 * @module
 */
import { Worker } from 'node:worker_threads';
import WebSocket from 'ws';
import { Server } from '../src/server/server.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';

const COUNT = Number(process.argv[2] ?? 50_000);
/** Credit of the greedy streams: the largest the server accepts. */
const CREDIT = Number(process.argv[3] ?? 65_536);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) throw new Error('run with node --expose-gc');

function heapMb(): number {
  gc?.();
  gc?.();
  return process.memoryUsage().heapUsed / 2 ** 20;
}

async function until(condition: () => boolean, label: string, timeoutMs = 120_000): Promise<void> {
  const started = Date.now();
  while (!condition()) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out: ${label}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** A raw JSON peer that counts answers by frame type and error code. */
class Peer {
  readonly counts = new Map<string, number>();
  closeCode: number | undefined;
  /** Told every frame, after counting. */
  onFrame: ((frame: unknown[]) => void) | undefined;
  private constructor(readonly ws: WebSocket) {
    ws.on('close', (code: number) => {
      this.closeCode = code;
    });
    ws.on('message', (data: Buffer) => {
      const frame = JSON.parse(data.toString('utf8')) as unknown[];
      const error = frame[0] === FrameType.ERROR || frame[0] === FrameType.RPC_STREAM_ERROR;
      const key = error
        ? `${String(frame[0])}:${(frame[2] as { code: string }).code}`
        : String(frame[0]);
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      this.onFrame?.(frame);
    });
  }

  static async open(url: string): Promise<Peer> {
    const ws = new WebSocket(url, 'wsmesh.v1.json', { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const peer = new Peer(ws);
    ws.send(
      JSON.stringify([FrameType.HELLO, { v: PROTOCOL_VERSION, id: `abuser-${Math.random()}` }]),
    );
    await until(() => peer.counts.has(String(FrameType.WELCOME)), 'WELCOME');
    return peer;
  }

  send(frame: unknown[]): void {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * Sends `count` frames 1,000 at a time, each chunk followed by a PING whose PONG proves that
   * the server handled the chunk and this peer read every answer to it (a peer that never
   * reads would be cut as a slow consumer, which is not what is measured here).
   */
  async sendPaced(count: number, frame: (index: number) => unknown[]): Promise<void> {
    for (let index = 1; index <= count;) {
      const end = Math.min(count, index + 999);
      for (; index <= end; index++) this.send(frame(index));
      const pongs = this.pongs();
      this.send([FrameType.PING]);
      await until(() => this.pongs() > pongs || this.closeCode !== undefined, 'PONG');
    }
  }

  pongs(): number {
    return this.counts.get(String(FrameType.PONG)) ?? 0;
  }

  close(): Promise<void> {
    if (this.closeCode !== undefined) return Promise.resolve();
    return new Promise((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.terminate();
    });
  }

  /** Frames received after WELCOME. */
  answers(): number {
    let total = 0;
    for (const [key, n] of this.counts)
      if (key !== String(FrameType.WELCOME) && key !== String(FrameType.PONG)) total += n;
    return total;
  }

  summary(): string {
    const names: Record<string, string> = { 3: 'REPLY', 33: 'RPC_ITEMS', 34: 'RPC_END' };
    const closed = this.closeCode === undefined ? [] : [`closed ${this.closeCode}`];
    return [...this.counts]
      .filter(([key]) => key !== String(FrameType.WELCOME) && key !== String(FrameType.PONG))
      .map(([key, n]) => {
        const [type, code] = key.split(':');
        const name =
          code === undefined
            ? (names[key] ?? key)
            : `${type === '4' ? 'ERROR' : 'RPC_STREAM_ERROR'} ${code}`;
        return `${name} x${n}`;
      })
      .concat(closed)
      .join(', ');
  }
}

const GREEDY = `
const { parentPort, workerData } = require('node:worker_threads');
const WebSocket = require('ws');
const { url, credit } = workerData;
const ws = new WebSocket(url, 'wsmesh.v1.json', { perMessageDeflate: false });
const received = new Map();
let total = 0;
let closeCode = null;
ws.on('close', (code) => { closeCode = code; });
ws.on('open', () => ws.send(JSON.stringify([${FrameType.HELLO}, { v: ${PROTOCOL_VERSION}, id: 'greedy' }])));
ws.on('message', (data) => {
  const frame = JSON.parse(data.toString('utf8'));
  if (frame[0] === ${FrameType.WELCOME}) {
    for (let id = 1; id <= 10; id++)
      ws.send(JSON.stringify([${FrameType.RPC_STREAM}, id, 'abuse', 'endless', [], credit]));
    parentPort.postMessage('started');
  } else if (frame[0] === ${FrameType.RPC_ITEMS}) {
    total += frame[2].length;
    const count = (received.get(frame[1]) ?? 0) + frame[2].length;
    if (count >= credit / 2) {
      ws.send(JSON.stringify([${FrameType.RPC_CREDIT}, frame[1], count]));
      received.set(frame[1], 0);
    } else received.set(frame[1], count);
  }
});
parentPort.on('message', () => {
  parentPort.postMessage({ total, closeCode });
  ws.terminate();
});
`;

const server = new Server({ port: 0, host: '127.0.0.1' });
const hanging: (() => void)[] = [];
server.origin(
  function slow(): Promise<string> {
    return new Promise((resolve) => hanging.push(() => resolve('late')));
  },
  { namespace: 'abuse' },
);
server.origin(
  function* endless(): Generator<number> {
    for (let index = 0; ; index++) yield index;
  },
  { namespace: 'abuse' },
);
server.origin(
  function add(a: number, b: number): number {
    return a + b;
  },
  { namespace: 'abuse' },
);
await server.start();
const url = `ws://127.0.0.1:${String(server.port)}/`;
const served = (): number => server['responder'].callsServed;

async function scenario(label: string, run: () => Promise<() => Promise<void>>): Promise<void> {
  const before = heapMb();
  const release = await run();
  const held = heapMb();
  await release();
  const after = heapMb();
  console.log(
    `${label}: heap +${(held - before).toFixed(1)} MB while held, +${(after - before).toFixed(1)} MB after release`,
  );
}

await scenario(`${COUNT} slow calls on one connection`, async () => {
  const peer = await Peer.open(url);
  const start = served();
  await peer.sendPaced(COUNT, (id) => [FrameType.RPC_CALL, id, 'abuse', 'slow', []]);
  console.log(`  calls served: ${served() - start}`);
  console.log(`  answers while held: ${peer.summary() || 'none'}`);
  return async () => {
    for (const resolve of hanging.splice(0)) resolve();
    await peer.close();
  };
});

await scenario(`${COUNT} suspended streams on one connection`, async () => {
  const peer = await Peer.open(url);
  const start = served();
  await peer.sendPaced(COUNT, (id) => [FrameType.RPC_STREAM, id, 'abuse', 'endless', [], 1]);
  await until(() => peer.answers() >= COUNT || peer.closeCode !== undefined, 'first answers');
  console.log(`  streams served: ${served() - start}`);
  console.log(`  answers while held: ${peer.summary()}`);
  return () => peer.close();
});

const connections = 80;
const perConnection = 1000;
await scenario(`${connections} connections x ${perConnection} watched namespaces`, async () => {
  const peers: Peer[] = [];
  for (let index = 0; index < connections; index++) {
    const peer = await Peer.open(url);
    await peer.sendPaced(perConnection, (id) => [FrameType.RPC_LIST, id, `ns-${index}-${id}`]);
    peers.push(peer);
  }
  console.log(`  first connection's answers: ${peers[0]?.summary() ?? ''}`);
  console.log(`  watched namespaces while held: ${server['responder']['watchers'].size}`);
  return async () => {
    await Promise.all(peers.map((peer) => peer.close()));
    await until(() => server.clients.size === 0, 'connections closed');
    console.log(`  watched namespaces after close: ${server['responder']['watchers'].size}`);
  };
});

/** Sequential calls of `add` from a fresh connection for `ms`: latency percentiles. */
async function latency(ms: number): Promise<string> {
  const peer = await Peer.open(url);
  const samples: number[] = [];
  const ends = Date.now() + ms;
  for (let id = 1; Date.now() < ends; id++) {
    const sent = performance.now();
    await new Promise<void>((resolve) => {
      peer.onFrame = (frame) => {
        if (frame[1] === id) resolve();
      };
      peer.send([FrameType.RPC_CALL, id, 'abuse', 'add', [1, 2]]);
    });
    samples.push(performance.now() - sent);
  }
  await peer.close();
  samples.sort((a, b) => a - b);
  const at = (q: number): string => (samples[Math.floor(q * (samples.length - 1))] ?? 0).toFixed(2);
  return `${samples.length} calls, p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms`;
}

console.log(`good client alone: ${await latency(2000)}`);
{
  // A greedy consumer in a worker thread (its decoding must not slow this event loop): 10
  // streams of a generator that never awaits, opened with the largest credit and granted more
  // as soon as half of it arrived.
  const greedy = new Worker(GREEDY, { eval: true, workerData: { url, credit: CREDIT } });
  await new Promise((resolve) => greedy.once('message', resolve));
  console.log(`good client beside 10 greedy streams of credit ${CREDIT}: ${await latency(2000)}`);
  greedy.postMessage('stop');
  const report = (await new Promise((resolve) => greedy.once('message', resolve))) as {
    total: number;
    closeCode: number | null;
  };
  console.log(
    `  greedy: ${report.total} items received${report.closeCode === null ? '' : `, closed ${report.closeCode}`}`,
  );
  await greedy.terminate();
}

await server.stop();
