/**
 * The four-clone example of the clone documentation, ported line by line. Run it with
 * `npx tsx examples/seed-clones.ts`; it prints what the original example says at each step.
 * Ports come from the environment (defaults 4001-4004) so tests can run it on free ports.
 */
import { Server } from 'wsmesh';

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const base = Number(process.env.SEED_BASE_PORT ?? 4001);
const url = (n: number): string => `ws://localhost:${base + n - 1}`;
const pause = Number(process.env.SEED_WAIT_MS ?? 4000);

// Function return values for authentication when connecting to remote clones: send a token.
const authFnOut = (): string => 'token';

// Authentication of remote clones connecting to this one: check the token.
const authFnIn = (authValue: unknown): boolean => authValue === 'token';

// Initialize clones. Each knows its own url, so it announces itself to the clones it dials.
const clone1 = new Server({ id: 'clone1', port: base, url: url(1), authFnOut, authFnIn });
const clone2 = new Server({ id: 'clone2', port: base + 1, url: url(2), authFnOut, authFnIn });
const clone3 = new Server({ id: 'clone3', port: base + 2, url: url(3), authFnOut, authFnIn });
const clone4 = new Server({ id: 'clone4', port: base + 3, url: url(4), authFnOut, authFnIn });

// Run the clones
await Promise.all([clone1.start(), clone2.start(), clone3.start(), clone4.start()]);

// Let's tell clone1 about clone2 and clone4
clone1.addClone({ id: 'clone2', url: url(2) });
clone1.addClone({ id: 'clone4', url: url(4) });

// The original waited two exchange rounds; changes are pushed at once here.
await wait(pause);

// clone1, clone2, clone4 now know everything about each other, although only clone1 added them.
console.log(clone1.clones.clones.keys()); // [Map Iterator] { 'clone2', 'clone4' }
console.log(clone2.clones.clones.keys()); // [Map Iterator] { 'clone4', 'clone1' }
console.log(clone3.clones.clones.keys()); // [Map Iterator] {  }
console.log(clone4.clones.clones.keys()); // [Map Iterator] { 'clone2', 'clone1' }

// To make clone3 aware of all remote clones, and the others of it, connect it to one of them.
clone3.addClone({ id: 'clone4', url: url(4) });

await wait(pause);

console.log(clone1.clones.clones.keys()); // [Map Iterator] { 'clone2', 'clone4', 'clone3' }
console.log(clone2.clones.clones.keys()); // [Map Iterator] { 'clone4', 'clone1', 'clone3' }
console.log(clone3.clones.clones.keys()); // [Map Iterator] { 'clone4', 'clone1', 'clone2' }
console.log(clone4.clones.clones.keys()); // [Map Iterator] { 'clone2', 'clone1', 'clone3' }

// Stop clones
await Promise.all([clone1.stop(), clone2.stop(), clone3.stop(), clone4.stop()]);
