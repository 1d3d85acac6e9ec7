/**
 * A free TCP port on an interface, found by listening on port 0 and closing again (the node
 * needs its port before it starts, to announce its url; a lost race is retried by the caller).
 * @module
 */
import { createServer } from 'node:net';

/** A port that was free on `host` a moment ago. */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.unref();
    probe.once('error', reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}
