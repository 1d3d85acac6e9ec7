/**
 * `npm start`: a server and two clients on this machine, showing request/response in both
 * directions, errors, and a group message. Everything it does is printed. Then (unless
 * DEMO_WEB=0) it runs the `wsmesh` CLI as a child process: two meshed workers serving a chat
 * page (examples/demo-web/public), RPC functions (examples/demo-web/functions.ts) and the
 * dashboard, plus a Node bot on worker 2 (examples/demo-web/bot.ts), until Ctrl+C.
 * DEMO_PORT=<port> picks worker 1's port (worker 2 takes the next one); default: free ports.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Client, RemoteError, Server } from 'wsmesh';
import { startBot, BOT_INTERVAL_MS, type Bot } from './demo-web/bot.js';

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

// 6. The live part: the mesh is started by the real CLI. Set DEMO_WEB=0 to end here.
if (process.env.DEMO_WEB !== '0') await runWebDemo();

async function runWebDemo(): Promise<void> {
  const root = fileURLToPath(new URL('..', import.meta.url));
  if (!existsSync(join(root, 'dist', 'wsmesh-client.js'))) {
    // npm install builds it (the "prepare" script); build it now if that did not happen.
    console.log('\nbuilding the browser client (npm run bundle)...');
    const { bundleBrowserClient } = await import('../scripts/bundle.js');
    await bundleBrowserClient();
  }
  const args = [
    'start',
    '--workers',
    '2',
    '--port',
    process.env.DEMO_PORT ?? '0',
    '--id',
    'demo',
    '--dashboard',
    '--metrics',
    '--static',
    'examples/demo-web/public',
    '--functions',
    'examples/demo-web/functions.ts',
    '--namespace',
    'demo',
  ];
  console.log('\n6. a mesh of two clones, started with the wsmesh command line:');
  console.log(`   $ wsmesh ${args.join(' ')}`);
  console.log(
    "   (run from this repository as node --import tsx src/cli/main.ts, the bin's source)",
  );
  // No WSMESH_* settings of the shell leak in (a WSMESH_SECRET would hide the dashboard token).
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([key]) => !key.startsWith('WSMESH_')),
  );
  // Its own process group: Ctrl+C reaches this process only, which stops the bot and then
  // sends SIGTERM to the CLI once (which stops its workers). The IPC channel makes the CLI
  // stop by itself if this process dies without doing so.
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    env,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    detached: true,
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const killChild = (): void => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.once('exit', killChild);

  let readyMatch: RegExpExecArray | null = null;
  let dashboard = '';
  let dashboardToken = '';
  let allReady: (() => void) | undefined;
  const readyLines = new Promise<void>((resolve) => (allReady = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => {
      console.log(`   | ${line}`);
      dashboard = /dashboard {2}(http:\/\/\S+)/.exec(line)?.[1] ?? dashboard;
      dashboardToken = /token {6}(\S+)/.exec(line)?.[1] ?? dashboardToken;
      readyMatch ??= /workers ready: (\S+) (ws:\/\/\S+), (\S+) (ws:\/\/\S+)/.exec(line);
      // The last line the CLI prints once every worker listens.
      if (line.startsWith('Ctrl+C stops every worker')) allReady?.();
    });
  }

  let bot: Bot | undefined = undefined;
  let stopping = false;
  const stop = async (reason: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    console.log(`\n${reason}: stopping the bot, then wsmesh (SIGTERM to pid ${child.pid})`);
    await bot?.stop();
    killChild();
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    const code = await exited;
    clearTimeout(killer);
    console.log(`web demo stopped (wsmesh exited with code ${String(code)}).`);
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  void exited.then((code) => {
    if (stopping) return;
    stopping = true;
    console.error(`wsmesh exited unexpectedly (code ${String(code)})`);
    void (bot?.stop() ?? Promise.resolve()).then(() => process.exit(1));
  });

  console.log(`   (wsmesh runs as pid ${child.pid})`);
  await readyLines;
  const [, id1 = '', url1 = '', id2 = '', url2 = ''] = readyMatch ?? [];
  const page = (url: string): string => url.replace(/^ws:/, 'http:').replace(/\/?$/, '/');
  bot = await startBot(url2, id2);
  if (stopping) await bot.stop();
  console.log(`\n   open ${page(url1)}  (served by ${id1})`);
  console.log(`   or   ${page(url2)}  (served by ${id2}; open both to chat across the mesh)`);
  console.log(`   a Node bot on ${id2} posts to "lobby" every ${BOT_INTERVAL_MS / 1000} s`);
  console.log(`   the live dashboard of the mesh: ${dashboard}`);
  console.log(`   (log in with the token printed above: ${dashboardToken})`);
  console.log('   Ctrl+C stops the demo.');
}
