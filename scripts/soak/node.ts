/**
 * One clone of the soak mesh, in its own process. Environment: SOAK_ID, SOAK_PORT,
 * SOAK_PEERS (`id=url,...`), SOAK_HISTORY (history size per group, 0 = off). Shares `echo` over RPC, reports `{type:'ready'}` and, on request,
 * `{type:'stats', rss, stats}` over IPC; stops on `{type:'stop'}`, SIGTERM or a lost parent.
 */
import { Server } from '../../src/index.js';

const id = process.env.SOAK_ID ?? 'soak';
const port = Number(process.env.SOAK_PORT ?? '0');
const server = new Server({
  id,
  port,
  host: '127.0.0.1',
  url: `ws://127.0.0.1:${port}`,
  cloneInterval: 1000,
  ...(Number(process.env.SOAK_HISTORY ?? '0') > 0
    ? { history: { size: Number(process.env.SOAK_HISTORY) } }
    : {}),
});
server.origin((value: unknown) => value, { namespace: 'soak', name: 'echo' });
await server.start();
for (const entry of (process.env.SOAK_PEERS ?? '').split(',').filter((part) => part !== '')) {
  const at = entry.indexOf('=');
  server.addClone({ id: entry.slice(0, at), url: entry.slice(at + 1) });
}
process.send?.({ type: 'ready', id });

async function stop(): Promise<void> {
  await server.stop();
  process.exit(0);
}
process.on('message', (message: { type?: string }) => {
  if (message.type === 'stats') {
    process.send?.({ type: 'stats', id, rss: process.memoryUsage().rss, stats: server.stats() });
  } else if (message.type === 'stop') void stop();
});
process.on('disconnect', () => void stop());
process.on('SIGTERM', () => void stop());
