/**
 * The libraries compared by the bench, and where their server and client code lives.
 * @module
 */

/** Contender ids, in their default order. */
export const CONTENDERS = ['ws', 'socket.io', 'rpc-websockets', 'wsmesh', 'wsmesh-rpc'] as const;

/** One contender id. */
export type ContenderName = (typeof CONTENDERS)[number];

/** The contender every ratio is computed against (the physical limit). */
export const BASELINE: ContenderName = 'ws';

const LABELS: Record<ContenderName, string> = {
  ws: 'raw ws',
  'socket.io': 'Socket.IO',
  'rpc-websockets': 'rpc-websockets',
  wsmesh: 'wsmesh',
  'wsmesh-rpc': 'wsmesh RpcProxy',
};

const FILES: Record<ContenderName, string> = {
  ws: 'ws',
  'socket.io': 'socketio',
  'rpc-websockets': 'rpc-websockets',
  wsmesh: 'wsmesh',
  'wsmesh-rpc': 'wsmesh-rpc',
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
  return name === 'wsmesh' || name === 'wsmesh-rpc';
}
