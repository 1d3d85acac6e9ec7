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
import WebSocket from 'ws';
import { Server } from '../src/server/server.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';

const COUNT = Number(process.argv[2] ?? 50_000);
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

await server.stop();
