/**
 * The libraries compared by the bench, and where their server and client code lives.
 * @module
 */

/** Contender ids, in their default order. */
export const CONTENDERS = [
  'ws',
  'ws-batched',
  'socket.io',
  'rpc-websockets',
  'nats',
  'nats-ws',
  'wsmesh',
  'wsmesh-rpc',
  'wsmesh-nats',
] as const;

/** One contender id. */
export type ContenderName = (typeof CONTENDERS)[number];

/** The contender every ratio is computed against, unless a table says otherwise. */
export const BASELINE: ContenderName = 'ws';

/** The fair limit of a batching protocol: a second ratio column ("vs limit") where it ran. */
export const LIMIT: ContenderName = 'ws-batched';

const LABELS: Record<ContenderName, string> = {
  ws: 'raw ws',
  'ws-batched': 'raw ws, batched (limit)',
  'socket.io': 'Socket.IO',
  'rpc-websockets': 'rpc-websockets',
  nats: 'NATS',
  'nats-ws': 'NATS over WebSocket',
  wsmesh: 'wsmesh',
  'wsmesh-rpc': 'wsmesh RpcProxy',
  'wsmesh-nats': 'wsmesh on NATS',
};

const FILES: Record<ContenderName, string> = {
  ws: 'ws',
  'ws-batched': 'ws-batched',
  'socket.io': 'socketio',
  'rpc-websockets': 'rpc-websockets',
  nats: 'nats',
  'nats-ws': 'nats',
  wsmesh: 'wsmesh',
  'wsmesh-rpc': 'wsmesh-rpc',
  'wsmesh-nats': 'wsmesh-nats',
};

/** True when `name` is a contender id. */
export function isContender(name: unknown): name is ContenderName {
  return typeof name === 'string' && (CONTENDERS as readonly string[]).includes(name);
}

/** Name shown in tables. */
export function contenderLabel(name: ContenderName): string {
  return LABELS[name];
}

/** Base file name of the contender's server (bench/servers) and adapter (bench/clients/adapters). */
export function contenderFile(name: ContenderName): string {
  return FILES[name];
}

/** `list` rotated left by `round` places, so each round starts with a different contender. */
export function rotate<T>(list: readonly T[], round: number): T[] {
  if (list.length === 0) return [];
  const shift = round % list.length;
  return [...list.slice(shift), ...list.slice(0, shift)];
}

/** True for the contenders that load wsmesh (and so need its build). */
export function usesWsMesh(name: ContenderName): boolean {
  return name === 'wsmesh' || name === 'wsmesh-rpc' || name === 'wsmesh-nats';
}

/**
 * nats-servers a trial of `name` needs over `servers` server processes: NATS itself runs a
 * routed cluster, one nats-server per server process; wsmesh on NATS shares one nats-server
 * (the broker, like Socket.IO's one redis-server; also when the loader runs the nodes
 * itself); the others none.
 */
export function natsServersFor(name: ContenderName, servers: number): number {
  if (name === 'nats' || name === 'nats-ws') return Math.max(servers, 1);
  if (name === 'wsmesh-nats') return 1;
  return 0;
}

/**
 * False for contenders whose server is not a Node process (NATS: nats-server): their memory
 * is RSS only, read from /proc, with no V8 heap to report.
 */
export function hasV8Heap(name: ContenderName): boolean {
  return name !== 'nats' && name !== 'nats-ws';
}
