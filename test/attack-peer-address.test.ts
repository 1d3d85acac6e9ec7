/**
 * `ws.remoteAddress` equals what the accepted socket's `remoteAddress` gives, for
 * an IPv4 peer, an IPv6 `::1` peer and an IPv4 peer of a dual-stack (`::`) listener.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { connectRaw, startServer, stopAll } from './helpers.js';

const CASES = [
  { host: '127.0.0.1', dial: '127.0.0.1', expected: '127.0.0.1' },
  { host: '::1', dial: '[::1]', expected: '::1' },
  { host: '::', dial: '127.0.0.1', expected: '::ffff:127.0.0.1' },
];

for (const { host, dial, expected } of CASES) {
  test(`remoteAddress on ${host} dialled as ${dial}`, async (t) => {
    let started;
    try {
      started = await startServer({ host });
    } catch {
      t.skip(`cannot listen on ${host}`);
      return;
    }
    try {
      const seen: (string | undefined)[] = [];
      for (let index = 0; index < 3; index++) {
        const raw = await connectRaw(`ws://${dial}:${started.port}${started.server.path}`);
        seen.push(
          started.server.clients.get(String(raw.welcome?.connectionId ?? ''))?.remoteAddress ??
            [...started.server.clients.values()].at(-1)?.remoteAddress,
        );
      }
      assert.deepEqual(seen, [expected, expected, expected]);
    } finally {
      await stopAll(started.server);
    }
  });
}
