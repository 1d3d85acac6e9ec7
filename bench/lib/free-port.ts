/**
 * A free TCP port on 127.0.0.1 (bound to port 0 and released), for processes that must know
 * their address before they listen: redis-server, wsmesh clones announcing their `url`.
 * @module
 */
import { createServer } from 'node:net';

/** Resolves with a port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
