import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type AddressInfo, type Socket } from 'node:net';
import { test } from 'node:test';
import { peerAddress } from './peer-address.js';

test('peerAddress reads the address Node gives, without caching anything on the socket', async () => {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const accepted = once(server, 'connection') as Promise<[Socket]>;
  const client = createConnection((server.address() as AddressInfo).port, '127.0.0.1');
  const [socket] = await accepted;
  try {
    const cached = (): unknown => (socket as Socket & { _peername?: unknown })._peername;
    assert.equal(peerAddress(socket), '127.0.0.1');
    assert.equal(cached(), undefined, 'nothing left on the socket');
    assert.equal(socket.remoteAddress, '127.0.0.1');
    assert.notEqual(cached(), undefined, 'the getter caches (what peerAddress avoids)');
    assert.equal(peerAddress(socket), '127.0.0.1', 'from the cache once there is one');
    // Not a Node socket (no handle): asked through the getter.
    assert.equal(peerAddress({ remoteAddress: '10.0.0.7', connecting: false }), '10.0.0.7');
    assert.equal(peerAddress({ remoteAddress: undefined, connecting: false }), undefined);
  } finally {
    client.destroy();
    socket.destroy();
    server.close();
  }
});
