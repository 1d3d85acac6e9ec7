/**
 * Optional payload encryption (AES-256-GCM keyed from the server secret): calls work, the
 * wire carries no plaintext, a server that requires it refuses clear peers, links encrypt too.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { describe, test } from 'node:test';
import { RpcProxy } from '../src/client/node-rpc-proxy.js';
import { Server } from '../src/server/server.js';
import { startServer, stopAll, waitFor } from './helpers.js';

const secret = 'a-long-shared-secret-for-tests';
const marker = 'PLAINTEXT-MARKER-42';

describe('encryption', () => {
  test('an encrypted proxy calls normally and nothing readable crosses the wire', async () => {
    const captured: Buffer[] = [];
    const http = createServer();
    http.on('connection', (socket) => socket.on('data', (chunk: Buffer) => captured.push(chunk)));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    const address = http.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    const url = `ws://127.0.0.1:${port}`;
    const server = new Server({ server: http, serverSecret: secret, encryption: true });
    server.origin((text: string) => `${text}!`, { name: 'shout' });
    await server.start();
    const proxy = await RpcProxy.create({ url, serverSecret: secret, encryption: true });
    try {
      assert.equal(await proxy.call('shout', marker), `${marker}!`);
      assert.ok(captured.length > 0, 'traffic was captured');
      const wire = Buffer.concat(captured).toString('latin1');
      assert.ok(!wire.includes(marker), 'the argument is not readable on the wire');
      assert.ok(!wire.includes('shout'), 'the function name is not readable on the wire');
    } finally {
      await proxy.close();
      await server.stop();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  test('a server that requires encryption refuses a proxy in clear with AuthError', async () => {
    const { server, url } = await startServer({ serverSecret: secret, encryption: true });
    try {
      await assert.rejects(RpcProxy.create({ url, serverSecret: secret }), { code: 'ERR_AUTH' });
    } finally {
      await server.stop();
    }
  });

  test('encryption needs a secret (checked up front)', () => {
    assert.throws(() => new Server({ encryption: true }), { code: 'ERR_INVALID_OPTION' });
  });

  test('encrypted server links forward calls', async () => {
    const a = await startServer({ id: 'enc-a', serverSecret: secret, encryption: true }, (s) =>
      s.origin(() => 'from a', { namespace: 'ns', name: 'fromA' }),
    );
    const b = await startServer({ id: 'enc-b', serverSecret: secret });
    try {
      await b.server.createServerProxy({
        url: a.url,
        serverSecret: secret,
        namespace: 'ns',
        encryption: true,
      });
      const proxy = await RpcProxy.create({ url: b.url, serverSecret: secret, namespace: 'ns' });
      try {
        await waitFor(
          () => proxy.functions.some((f) => f.name === 'fromA'),
          5000,
          'the proxy on B lists fromA',
        );
        assert.equal(await proxy.call('fromA'), 'from a');
      } finally {
        await proxy.close();
      }
    } finally {
      await stopAll(b.server, a.server);
    }
  });
});
