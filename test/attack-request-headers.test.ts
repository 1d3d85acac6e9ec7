/**
 * `ws.request.headers` are exactly each connection's own (shared strings only
 * when equal), handshake headers dropped, repeated and differing values alternating.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import WebSocket from 'ws';
import { Subprotocol } from '../src/protocol/codec.js';
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { startServer, stopAll, waitFor } from './helpers.js';

test('request headers are exact per connection', { timeout: 20_000 }, async () => {
  const started = await startServer();
  const sockets: WebSocket[] = [];
  try {
    const { server } = started;
    const variants = [
      {
        origin: 'http://one.example',
        'user-agent': 'UA-1',
        'x-custom': 'a',
        'accept-language': 'en',
      },
      { origin: 'http://two.example', 'user-agent': 'UA-1', 'x-custom': 'b' },
      {
        origin: 'http://one.example',
        'user-agent': 'UA-2',
        'accept-language': 'fr',
        'cache-control': 'no-cache',
      },
      { origin: 'http://one.example', 'user-agent': 'UA-2', 'x-custom': 'a' },
    ];
    for (const [index, headers] of variants.entries()) {
      const socket = new WebSocket(started.url, Subprotocol.json, {
        headers,
        perMessageDeflate: false,
      });
      sockets.push(socket);
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      socket.send(JSON.stringify([FrameType.HELLO, { v: PROTOCOL_VERSION, id: `hdr-${index}` }]));
      await waitFor(() => server.clients.size === index + 1, 5000, 'welcomed');
    }
    const all = [...server.clients.values()];
    for (const [index, headers] of variants.entries()) {
      const ws = all[index];
      assert.ok(ws !== undefined);
      const kept = ws.request.headers;
      for (const [name, value] of Object.entries(headers))
        assert.equal(kept[name], value, `${index} ${name}`);
      for (const name of ['x-custom', 'accept-language', 'cache-control'])
        if (!(name in headers)) assert.equal(kept[name], undefined, `${index} ${name} absent`);
      assert.equal(kept['sec-websocket-key'], undefined);
      assert.equal(kept.upgrade, undefined);
      assert.equal(kept.host, `127.0.0.1:${started.port}`);
    }
  } finally {
    for (const socket of sockets) socket.terminate();
    await stopAll(started.server);
  }
});
