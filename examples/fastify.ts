/**
 * wsmesh on a Fastify 5 app: one http server, one port. Fastify answers HTTP, wsmesh takes the
 * WebSocket upgrades at `/ws` of Fastify's own http server (`app.server`) and serves its
 * operations pages under that path (`/ws/metrics`, `/ws/_wsmesh`).
 *
 * Run: `npx tsx examples/fastify.ts` (a free port; prints what it does, then stops).
 */
import Fastify from 'fastify';
import { Client, Server } from 'wsmesh';

const app = Fastify();
const wsmesh = new Server({
  server: app.server, // attach: wsmesh handles the upgrades of Fastify's http server
  path: '/ws',
  metrics: true,
  dashboard: { token: process.env.DASHBOARD_TOKEN ?? 'change-this-dashboard-token' },
});
// wsmesh's pages first; hijack tells Fastify the response is written already.
app.addHook('onRequest', (request, reply, done) => {
  if (wsmesh.handleHttp(request.raw, reply.raw)) reply.hijack();
  else done();
});
app.get('/hello', () => ({ hello: 'from fastify' }));
wsmesh.addRoute({ route: 'math', act: 'add', handler: ({ data }) => add(data) });

const address = await app.listen({ port: 0, host: '127.0.0.1' });
await wsmesh.start();
const port = new URL(address).port;

const client = new Client({ url: `ws://127.0.0.1:${port}/ws` });
await client.start();
const sum = await client.sendMes({ route: 'math', act: 'add', data: [2, 3], awaitRes: true });
const hello = await (await fetch(`http://127.0.0.1:${port}/hello`)).json();
const metrics = await fetch(`http://127.0.0.1:${port}/ws/metrics`);
console.log(`websocket reply: ${String(sum)}`);
console.log(`fastify route: ${JSON.stringify(hello)}`);
console.log(
  `GET /ws/metrics: ${metrics.status} ${(await metrics.text()).includes('wsmesh_clients')}`,
);

await client.stop();
await wsmesh.stop();
await app.close();
console.log('stopped');

function add(data: unknown): number {
  const [a, b] = data as [number, number];
  return a + b;
}
