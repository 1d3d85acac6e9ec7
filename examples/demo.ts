/**
 * `npm start`: a server and two clients on this machine, showing request/response in both
 * directions, errors, and a group message. Everything it does is printed. Then it serves a
 * live chat page on a mesh of two clones (examples/demo-web.ts) until Ctrl+C.
 */
import { Client, RemoteError, Server } from '../src/index.js';

const server = new Server({ id: 'demo-server', port: 0, host: '127.0.0.1' });
let logMessages = true;

server.use(({ ws, mes }) => {
  if (!logMessages) return;
  console.log(
    `  [server] ${mes.kind} from ${ws.clientId ?? ws.id}: route=${String(mes.route)} act=${String(mes.act)}`,
  );
});
server.addRoute({
  route: 'math',
  act: 'add',
  handler: ({ data }) => {
    const { a, b } = data as { a: number; b: number };
    return a + b;
  },
});
server.addRoute({
  route: 'math',
  act: 'divide',
  handler: ({ data }) => {
    const { a, b } = data as { a: number; b: number };
    if (b === 0) throw new RangeError('division by zero');
    return a / b;
  },
});
server.on('connection', ({ ws }) =>
  console.log(`  [server] connection ${ws.id} from client ${String(ws.clientId)}`),
);

await server.start();
const url = `ws://127.0.0.1:${String(server.port)}`;
console.log(`wsmesh demo: server ${server.id} listening on ${url}\n`);

const alice = new Client({ id: 'alice', url });
const bob = new Client({ id: 'bob', url, codec: 'msgpack' });
for (const client of [alice, bob]) {
  client.addRoute({
    route: 'chat',
    handler: ({ data, mes }) =>
      console.log(`  [${client.id}] group ${String(mes.group)}: ${String(data)}`),
  });
}
bob.addRoute({
  route: 'whoami',
  handler: () => `I am bob, connected with ${bob.getInfo().codec ?? '?'}`,
});
await Promise.all([alice.start(), bob.start()]);

console.log('1. alice asks the server to add 2 + 3');
console.log(
  `   reply: ${String(await alice.sendMes({ route: 'math', act: 'add', data: { a: 2, b: 3 }, awaitRes: true }))}\n`,
);

console.log('2. alice divides by zero: the handler throws, alice gets a RemoteError');
try {
  await alice.sendMes({ route: 'math', act: 'divide', data: { a: 1, b: 0 }, awaitRes: true });
} catch (error) {
  if (error instanceof RemoteError)
    console.log(
      `   ${error.code}: ${error.remoteName}: ${error.message} (from ${String(error.origin)})\n`,
    );
}

console.log('3. the server asks bob a question and awaits his answer');
const bobConnection = [...server.clients.values()].find((ws) => ws.clientId === 'bob');
if (bobConnection !== undefined) {
  console.log(
    `   bob says: ${String(await bobConnection.sendMes({ route: 'whoami', awaitRes: true }))}\n`,
  );
}

console.log('4. both join group "lobby"; alice publishes to it');
await Promise.all([alice.subscribe({ id: 'lobby' }), bob.subscribe({ id: 'lobby' })]);
const delivered = await alice.sendMesToGroup({
  id: 'lobby',
  route: 'chat',
  data: 'hello lobby',
  awaitRes: true,
});
await new Promise((resolve) => setTimeout(resolve, 100));
console.log(`   deliveries: ${String(delivered)}\n`);

console.log('5. 10,000 requests with all of them in flight at once (not logged)');
logMessages = false;
const started = performance.now();
const replies = await Promise.all(
  Array.from({ length: 10_000 }, (_, i) =>
    alice.sendMes({ route: 'math', act: 'add', data: { a: i, b: 1 }, awaitRes: true }),
  ),
);
const seconds = (performance.now() - started) / 1000;
console.log(
  `   ${replies.length} replies in ${(seconds * 1000).toFixed(0)} ms (client and server share this process)\n`,
);

await Promise.all([alice.stop(), bob.stop()]);
await server.stop();
console.log('stopped. Next: npm test, and see README.md and docs/.');

// 6. The live part: a browser page on a mesh of two clones (examples/demo-web.ts). Set
// DEMO_WEB=0 to end after the walkthrough.
if (process.env.DEMO_WEB !== '0') {
  const { startWebDemo } = await import('./demo-web.js');
  const web = await startWebDemo();
  console.log('\n6. in a browser: a chat page on a mesh of two clones, with a bot on clone2');
  console.log(`   open ${web.url}  (served by clone1)`);
  console.log(`   or   ${web.url2}  (served by clone2; open both to chat across the mesh)`);
  console.log(`   and the live dashboard of the mesh: ${web.dashboard}`);
  console.log('   Ctrl+C stops the demo.');
  process.once('SIGINT', () => {
    void web.stop().then(() => console.log('\nweb demo stopped.'));
  });
}
