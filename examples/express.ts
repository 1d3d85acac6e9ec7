/**
 * wsmesh on an Express 5 app: one http server, one port. Express answers HTTP, wsmesh takes
 * the WebSocket upgrades at `/ws` and serves its operations pages under that path
 * (`/ws/metrics`, `/ws/_wsmesh`): with `path` set, they move under it.
 *
 * Run: `npx tsx examples/express.ts` (a free port; prints what it does, then stops).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { Client, Server } from 'wsmesh';

const app = express();
const http = createServer(app);
const wsmesh = new Server({
  server: http, // attach: wsmesh handles the upgrades of this http server
  path: '/ws',
  metrics: true,
  dashboard: { token: process.env.DASHBOARD_TOKEN ?? 'change-this-dashboard-token' },
});
// First, so /ws/metrics and /ws/_wsmesh reach wsmesh; everything else goes on to Express.
app.use((request, response, next) => {
  if (!wsmesh.handleHttp(request, response)) next();
});
app.get('/hello', (_request, response) => {
  response.json({ hello: 'from express' });
});
wsmesh.addRoute({ route: 'math', act: 'add', handler: ({ data }) => add(data) });

await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
await wsmesh.start();
const { port } = http.address() as AddressInfo;

const client = new Client({ url: `ws://127.0.0.1:${port}/ws` });
await client.start();
const sum = await client.sendMes({ route: 'math', act: 'add', data: [2, 3], awaitRes: true });
const hello = await (await fetch(`http://127.0.0.1:${port}/hello`)).json();
const metrics = await fetch(`http://127.0.0.1:${port}/ws/metrics`);
console.log(`websocket reply: ${String(sum)}`);
console.log(`express route: ${JSON.stringify(hello)}`);
console.log(
  `GET /ws/metrics: ${metrics.status} ${(await metrics.text()).includes('wsmesh_clients')}`,
);

await client.stop();
await wsmesh.stop();
await new Promise((resolve) => http.close(resolve));
console.log('stopped');

function add(data: unknown): number {
  const [a, b] = data as [number, number];
  return a + b;
}
