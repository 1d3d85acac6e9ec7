/**
 * A mesh of three clones on one machine, with a client on each. One `addClone` per clone is
 * enough: clone2 and clone3 only know clone1, and all three end up linked to each other. A
 * message published on clone1 reaches the subscribers of every clone, once.
 *
 * Run: `npx tsx examples/clone-mesh.ts` (ports 4101-4103; set CLONE_MESH_BASE_PORT to change).
 */
import { Client, Server } from 'wsmesh';

const base = Number(process.env.CLONE_MESH_BASE_PORT ?? 4101);
const url = (n: number): string => `ws://127.0.0.1:${base + n - 1}`;
const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `condition` every 10 ms, for at most `ms`. */
async function until(condition: () => boolean, ms = 5000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await wait(10)) if (condition()) return true;
  return condition();
}

// Every clone presents the same token and accepts only that token.
const token = process.env.MESH_TOKEN ?? 'change-me';
const clones = [1, 2, 3].map(
  (n) =>
    new Server({
      id: `clone${n}`,
      port: base + n - 1,
      host: '127.0.0.1',
      url: url(n), // what the other clones dial to reach this one
      authFnOut: () => token,
      authFnIn: (authValue) => authValue === token,
    }),
);
await Promise.all(clones.map((clone) => clone.start()));

// clone2 and clone3 are told about clone1 only; they learn about each other through it.
clones[1]?.addClone({ id: 'clone1', url: url(1) });
clones[2]?.addClone({ id: 'clone1', url: url(1) });
await until(() => clones.every((clone) => clone.clones.linkedIds().length === 2));
for (const clone of clones)
  console.log(`${clone.id} is linked to ${clone.clones.linkedIds().sort().join(', ')}`);

// One client per clone, each subscribed to the group "news".
let received = 0;
const clients = [1, 2, 3].map((n) => {
  const client = new Client({ id: `client${n}`, url: url(n) });
  client.addRoute({
    route: 'news',
    handler: ({ data }) => {
      received++;
      console.log(`client${n} (on clone${n}) got: ${String(data)}`);
    },
  });
  return client;
});
await Promise.all(clients.map((client) => client.start()));
await Promise.all(clients.map((client) => client.subscribe({ id: 'news' })));
await wait(100); // subscriptions reach the other clones within milliseconds

// client1 publishes on clone1; every subscriber on every clone gets each message once.
for (const text of ['hello', 'from', 'clone1'])
  await clients[0]?.sendMesToGroup({ id: 'news', route: 'news', data: text });
const complete = await until(() => received === 9);
console.log(
  complete ? 'every client got every message' : `only ${received} of 9 deliveries arrived`,
);

await Promise.all(clients.map((client) => client.stop()));
await Promise.all(clones.map((clone) => clone.stop()));
process.exitCode = complete ? 0 : 1;
