import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { WebSocketServer } from 'ws';
import { Cleanup, connectRaw, startClient, startServer, waitFor } from '../../test/helpers.js';
import { jsonCodec, type WirePayload } from '../protocol/codec.js';
import { CloseCode, FrameType } from '../protocol/frames.js';
import { Connection, type ConnectionHandler } from './connection.js';
import { HeartbeatMonitor } from './heartbeat.js';
import type { SharedFrame, WireSocket } from './wire-socket.js';

/** In-memory socket: records what is sent and delivers it to `peer`, if any. */
class MemorySocket implements WireSocket {
  readonly sent: WirePayload[] = [];
  readonly bufferedAmount = 0;
  terminated = false;
  peer: Connection | undefined;
  send(payload: WirePayload): void {
    if (this.terminated) return;
    this.sent.push(payload);
    const peer = this.peer;
    if (peer !== undefined) queueMicrotask(() => peer.receive(payload));
  }
  sendShared(frame: SharedFrame): void {
    this.send(frame.payload);
  }
  close(): void {
    this.terminated = true;
  }
  terminate(): void {
    this.terminated = true;
  }
  pings(): number {
    return this.sent.filter((payload) => payload === '[9]').length;
  }
}

function endpoint(): { socket: MemorySocket; connection: Connection; closes: number[] } {
  const socket = new MemorySocket();
  const closes: number[] = [];
  const handler: ConnectionHandler = {
    onFrame: () => undefined,
    onClose: (code) => closes.push(code),
    onError: () => undefined,
  };
  const connection = new Connection(socket, handler, {
    codec: jsonCodec,
    maxBufferedBytes: 1024 * 1024,
    requestTimeout: 5000,
  });
  return { socket, connection, closes };
}

// The heartbeat timer is unref'd: keep the loop alive for the in-memory tests.
let keepAlive: ReturnType<typeof setInterval> | undefined;
before(() => {
  keepAlive = setInterval(() => undefined, 1000);
});
after(() => clearInterval(keepAlive));

describe('HeartbeatMonitor (in memory)', () => {
  test('a silent peer gets a PING, then is terminated with 4000', async () => {
    const monitor = new HeartbeatMonitor(25);
    const silent = endpoint();
    monitor.add(silent.connection);
    await waitFor(() => silent.socket.pings() >= 1, 2000, 'PING sent');
    assert.equal(silent.connection.closed, false, 'one silent tick only earns a PING');
    await waitFor(() => silent.connection.closed, 2000, 'terminated');
    assert.equal(silent.socket.terminated, true);
    assert.deepEqual(silent.closes, [CloseCode.HEARTBEAT_TIMEOUT]);
    assert.equal(silent.socket.pings(), 1);
    monitor.stop();
  });

  test('a peer that answers PINGs stays', async () => {
    const monitor = new HeartbeatMonitor(20);
    const a = endpoint();
    const b = endpoint();
    a.socket.peer = b.connection;
    b.socket.peer = a.connection;
    monitor.add(a.connection);
    // Each PING after the first means the tick after the previous one saw a PONG: without
    // one, that tick would have terminated the connection instead.
    await waitFor(() => a.socket.pings() >= 3, 3000, 'three PINGs');
    assert.equal(a.connection.closed, false);
    assert.ok(b.socket.sent.length >= 2, 'the peer answered with PONGs');
    monitor.stop();
  });

  test('its PINGs measure the round trip, unless the monitor is untimed', async () => {
    const timed = new HeartbeatMonitor(15);
    const untimed = new HeartbeatMonitor(15, false);
    const [a, b, c, d] = [endpoint(), endpoint(), endpoint(), endpoint()];
    [a.socket.peer, b.socket.peer, c.socket.peer, d.socket.peer] = [
      b.connection,
      a.connection,
      d.connection,
      c.connection,
    ];
    timed.add(a.connection);
    untimed.add(c.connection);
    await waitFor(() => a.socket.pings() >= 2 && c.socket.pings() >= 2, 3000, 'two PINGs each');
    assert.equal(typeof a.connection.rttMs, 'number');
    assert.equal(c.connection.rttMs, undefined);
    timed.stop();
    untimed.stop();
  });

  test('with a list of the watched connections, it keeps none of its own', async () => {
    const [listed, unlisted, answering, peer] = [endpoint(), endpoint(), endpoint(), endpoint()];
    answering.socket.peer = peer.connection;
    peer.socket.peer = answering.connection;
    const list = [listed.connection, answering.connection];
    const monitor = new HeartbeatMonitor(15, true, () => list);
    monitor.add(listed.connection);
    monitor.add(answering.connection);
    monitor.add(unlisted.connection);
    assert.equal(monitor.size, 2, 'the listed ones');
    monitor.delete(answering.connection);
    await waitFor(() => listed.connection.closed, 3000, 'the silent listed one terminated');
    assert.deepEqual(listed.closes, [CloseCode.HEARTBEAT_TIMEOUT]);
    assert.equal(unlisted.socket.pings(), 0, 'not listed, not watched');
    assert.ok(answering.socket.pings() >= 1, 'delete() does not override the list');
    assert.equal(answering.connection.closed, false);
    assert.equal(monitor.size, 1);
    monitor.stop();
  });

  test('a busy connection is never PINGed', async () => {
    const monitor = new HeartbeatMonitor(40);
    const busy = endpoint();
    // A silent connection on the same monitor counts ticks: it is PINGed, then terminated.
    const clock = endpoint();
    monitor.add(busy.connection);
    monitor.add(clock.connection);
    const traffic = setInterval(() => busy.connection.receive('[2,0,"r",null,null]'), 5);
    try {
      await waitFor(() => clock.connection.closed, 3000, 'two ticks');
    } finally {
      clearInterval(traffic);
    }
    assert.equal(busy.socket.pings(), 0);
    assert.equal(busy.connection.closed, false);
    monitor.stop();
  });

  test('delete() and stop() stop watching; interval 0 disables heartbeats', async () => {
    const monitor = new HeartbeatMonitor(15);
    const deleted = endpoint();
    const stopped = endpoint();
    const clock = endpoint();
    monitor.add(deleted.connection);
    monitor.add(clock.connection);
    monitor.delete(deleted.connection);
    const other = new HeartbeatMonitor(15);
    other.add(stopped.connection);
    other.stop();
    const disabled = new HeartbeatMonitor(0);
    const idle = endpoint();
    disabled.add(idle.connection);
    // The silent clock connection is terminated on the second tick of a 15 ms monitor.
    await waitFor(() => clock.connection.closed, 3000, 'two ticks');
    assert.equal(monitor.size, 0);
    for (const side of [deleted, stopped, idle]) {
      assert.equal(side.connection.closed, false);
      assert.equal(side.socket.pings(), 0);
    }
  });

  test('closed connections are dropped from the watch list at the next tick', async () => {
    const monitor = new HeartbeatMonitor(15);
    const gone = endpoint();
    // Watched after `gone`, so the tick that PINGs it has visited `gone` first.
    const clock = endpoint();
    monitor.add(gone.connection);
    monitor.add(clock.connection);
    assert.equal(monitor.size, 2);
    gone.connection.close();
    await waitFor(() => clock.socket.pings() >= 1, 3000, 'first tick');
    assert.equal(monitor.size, 1, 'the closed connection is still watched');
    assert.deepEqual(gone.closes, [CloseCode.NORMAL]);
    assert.equal(gone.socket.pings(), 0);
    await waitFor(() => clock.connection.closed, 3000, 'second tick');
    assert.equal(monitor.size, 0);
    monitor.stop();
  });
});

describe('heartbeats over real sockets', () => {
  const cleanup = new Cleanup();
  after(() => cleanup.run());

  test('the server PINGs a silent raw peer, then drops it; an answering peer stays', async () => {
    const { server, url } = await startServer({ heartbeatInterval: 40 });
    cleanup.add(() => server.stop());
    const closed: number[] = [];
    server.on('closeClient', ({ code }) => closed.push(code));
    const silent = await connectRaw(url);
    const answering = await connectRaw(url);
    cleanup.add(() => silent.terminate());
    cleanup.add(() => answering.terminate());
    answering.ws.on('message', (data: Buffer) => {
      if (data.toString('utf8') === '[9]') answering.sendText('[10]');
    });
    await waitFor(
      () => silent.frames.some((frame) => Array.isArray(frame) && frame[0] === FrameType.PING),
      3000,
      'PING',
    );
    const info = await silent.waitClose(3000);
    assert.equal(info.code, 1006, 'terminated without a closing handshake');
    await waitFor(() => closed.includes(CloseCode.HEARTBEAT_TIMEOUT), 3000, 'closeClient 4000');
    // Two more PINGs answered after the silent peer was dropped: the answering one survives
    // every tick that would have dropped it.
    const pings = (): number =>
      answering.frames.filter((frame) => Array.isArray(frame) && frame[0] === FrameType.PING)
        .length;
    const seen = pings();
    await waitFor(() => pings() >= seen + 2, 3000, 'two more PINGs');
    assert.equal(answering.open, true);
    assert.equal(server.clients.size, 1);
    const reply = await answering.request(null, null, 1);
    assert.equal(reply[0], FrameType.ERROR, 'no route, but still served');
  });

  test('a Client and a Server with short intervals keep each other alive', async () => {
    const { server, url } = await startServer({ heartbeatInterval: 30 }, (s) =>
      s.addRoute({ route: 'echo', handler: ({ data }) => data }),
    );
    cleanup.add(() => server.stop());
    const client = await startClient(url, { heartbeatInterval: 30 });
    cleanup.add(() => client.stop());
    let closes = 0;
    client.on('close', () => closes++);
    // Every PING (a silent tick on the server) and PONG (a silent tick on the client) the
    // server sends is one heartbeat round that did not drop the link.
    const [link] = [...server.clients.values()];
    assert.ok(link !== undefined);
    const send = link.connection.send.bind(link.connection);
    let beats = 0;
    link.connection.send = (frame) => {
      if (frame[0] === FrameType.PING || frame[0] === FrameType.PONG) beats++;
      send(frame);
    };
    await waitFor(() => beats >= 8, 5000, 'eight heartbeat rounds');
    assert.equal(closes, 0);
    assert.equal(client.connected, true);
    assert.equal(await client.sendMes({ route: 'echo', data: 'alive', awaitRes: true }), 'alive');
  });

  test('a Client drops a server that stops answering', async () => {
    // A fake server: completes the wsmesh handshake, then never says anything again.
    const wss = new WebSocketServer({
      host: '127.0.0.1',
      port: 0,
      handleProtocols: (protocols) => [...protocols][0] ?? false,
    });
    cleanup.add(() => new Promise<void>((resolve) => wss.close(() => resolve())));
    await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
    const received: string[] = [];
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => received.push(data.toString('utf8')));
      ws.once('message', () => {
        ws.send(
          JSON.stringify([
            FrameType.WELCOME,
            { v: 1, serverId: 'mute', connectionId: 'c1', maxPayload: 1024 },
          ]),
        );
      });
      cleanup.add(() => ws.terminate());
    });
    const address = wss.address();
    assert.ok(typeof address === 'object' && address !== null);
    const client = await startClient(`ws://127.0.0.1:${address.port}`, { heartbeatInterval: 30 });
    cleanup.add(() => client.stop());
    const codes: number[] = [];
    client.on('close', ({ code }) => codes.push(code));
    await waitFor(() => codes.length > 0, 3000, 'client close');
    assert.ok(received.includes('[9]'), 'the client PINGed before giving up');
    // The client reports the socket's own close code (1006 after terminate()); the transport
    // closed with HEARTBEAT_TIMEOUT. Either shows the dead server was detected.
    assert.ok([CloseCode.HEARTBEAT_TIMEOUT, 1006].includes(codes[0] ?? 0), `code ${codes[0]}`);
    assert.equal(client.connected, false);
  });
});
