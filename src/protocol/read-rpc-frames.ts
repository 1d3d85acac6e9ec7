/**
 * Readers of the RPC frames: calls, streams and their credit, function lists and the routes
 * server links advertise.
 * @module
 */
import type { ProtocolError } from '../errors.js';
import {
  bad,
  badStream,
  isCount,
  isName,
  isNameList,
  isPositiveId,
  MAX_STREAM_CREDIT,
  orNull,
  type ReaderTable,
} from './checks.js';
import {
  FrameType,
  type FrameOf,
  type LinkRoute,
  type RpcCallFrame,
  type RpcStreamFrame,
} from './frames.js';
import { readFunctionInfo, readWireError } from './read-bodies.js';

/** Most forwarding hops an RPC frame may ask for. */
const MAX_HOPS = 64;

/** Longest RPC_CALL timeout, in ms (one day). */
export const MAX_CALL_TIMEOUT = 86_400_000;

/** The parts RPC_CALL and RPC_STREAM share: id, namespace, name, args and hops. */
function readInvocation(
  items: readonly unknown[],
  fail: (message: string, id: number) => ProtocolError,
  hopsAt: number,
): { id: number; namespace: string; name: string; args: unknown[]; hops: number | null } {
  const id = items[1];
  const namespace = items[2];
  const name = items[3];
  const args = items[4];
  if (!isPositiveId(id)) throw bad('RPC call id must be a positive integer');
  if (!isName(namespace) || !isName(name)) throw fail('RPC namespace and name must be strings', id);
  if (!Array.isArray(args)) throw fail('RPC args must be an array', id);
  const hops = items[hopsAt];
  if (hops !== undefined && hops !== null && !(isCount(hops) && hops <= MAX_HOPS)) {
    throw fail(`RPC hops must be an integer from 0 to ${MAX_HOPS}`, id);
  }
  return { id, namespace, name, args, hops: hops ?? null };
}

function readRpcCall(items: readonly unknown[]): RpcCallFrame {
  const { id, namespace, name, args, hops } = readInvocation(items, bad, 5);
  const timeout = items[6];
  if (timeout === undefined) {
    return items.length > 5
      ? [FrameType.RPC_CALL, id, namespace, name, args, hops]
      : [FrameType.RPC_CALL, id, namespace, name, args];
  }
  if (!(typeof timeout === 'number' && timeout > 0 && timeout <= MAX_CALL_TIMEOUT)) {
    throw bad('RPC_CALL timeout must be a positive number of ms', id);
  }
  return [FrameType.RPC_CALL, id, namespace, name, args, hops, timeout];
}

function readRpcStream(items: readonly unknown[]): RpcStreamFrame {
  // Stream ids are not request ids: a stream's problems are answered on the stream.
  const { id, namespace, name, args, hops } = readInvocation(items, badStream, 6);
  const credit = items[5];
  if (!(isPositiveId(credit) && credit <= MAX_STREAM_CREDIT)) {
    throw badStream(`RPC_STREAM credit must be an integer from 1 to ${MAX_STREAM_CREDIT}`, id);
  }
  return hops === null
    ? [FrameType.RPC_STREAM, id, namespace, name, args, credit]
    : [FrameType.RPC_STREAM, id, namespace, name, args, credit, hops];
}

/** RPC_CANCEL and RPC_STREAM_CANCEL: `[type, id]`. */
function cancel<T extends typeof FrameType.RPC_CANCEL | typeof FrameType.RPC_STREAM_CANCEL>(
  type: T,
): (items: readonly unknown[]) => [T, number] {
  return (items) => {
    const id = items[1];
    if (!isPositiveId(id)) throw bad('RPC_CANCEL/RPC_STREAM_CANCEL id must be a positive integer');
    return [type, id];
  };
}

function readRpcItems(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_ITEMS> {
  const streamId = items[1];
  const values = items[2];
  if (!isPositiveId(streamId) || !Array.isArray(values))
    throw bad('RPC_ITEMS needs a stream id and items');
  return [FrameType.RPC_ITEMS, streamId, values];
}

function readRpcEnd(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_END> {
  const streamId = items[1];
  const value = items[2];
  if (!isPositiveId(streamId)) throw bad('RPC_END needs a stream id');
  return [FrameType.RPC_END, streamId, orNull(value)];
}

function readRpcStreamError(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_STREAM_ERROR> {
  const streamId = items[1];
  const body = items[2];
  if (!isPositiveId(streamId)) throw bad('RPC_STREAM_ERROR needs a stream id');
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw bad('ERROR body must be an object', 0);
  }
  const error = readWireError(body);
  if (error === undefined) throw bad('ERROR body needs string code and message', 0);
  return [FrameType.RPC_STREAM_ERROR, streamId, error];
}

function readRpcCredit(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_CREDIT> {
  const streamId = items[1];
  const n = items[2];
  // A count above MAX_STREAM_CREDIT is well formed: the producer fails that stream.
  if (!isPositiveId(streamId) || !isPositiveId(n)) {
    throw bad('RPC_CREDIT needs a stream id and a positive count');
  }
  return [FrameType.RPC_CREDIT, streamId, n];
}

function readRpcList(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_LIST> {
  const id = items[1];
  const namespace = items[2];
  if (!isPositiveId(id)) throw bad('RPC_LIST id must be a positive integer');
  if (!isName(namespace)) throw bad('RPC_LIST namespace must be a string', id);
  return [FrameType.RPC_LIST, id, namespace];
}

function readLinkRoutes(items: readonly unknown[]): FrameOf<typeof FrameType.LINK_ROUTES> {
  const namespace = items[1];
  const routes = items[2];
  const fail = (): ProtocolError =>
    bad('LINK_ROUTES needs a namespace and [name, info, path] routes');
  if (!isName(namespace) || !Array.isArray(routes)) throw fail();
  const read: LinkRoute[] = [];
  for (const route of routes) {
    if (!Array.isArray(route)) throw fail();
    const [name, description, path]: unknown[] = route;
    const info = readFunctionInfo(description);
    if (!isName(name) || info === undefined || !isNameList(path) || path.length > MAX_HOPS) {
      throw fail();
    }
    read.push([name, info, path]);
  }
  return [FrameType.LINK_ROUTES, namespace, read];
}

function readRpcFunctions(items: readonly unknown[]): FrameOf<typeof FrameType.RPC_FUNCTIONS> {
  const namespace = items[1];
  const functions = items[2];
  const fail = (): ProtocolError =>
    bad('RPC_FUNCTIONS needs a namespace and function descriptions');
  if (!isName(namespace) || !Array.isArray(functions)) throw fail();
  const read = [];
  for (const value of functions) {
    const info = readFunctionInfo(value);
    if (info === undefined) throw fail();
    read.push(info);
  }
  return [FrameType.RPC_FUNCTIONS, namespace, read];
}

/** RPC frame types (calls, streams, function lists, link routes). */
export type RpcFrameType =
  | typeof FrameType.RPC_CALL
  | typeof FrameType.RPC_CANCEL
  | typeof FrameType.RPC_STREAM
  | typeof FrameType.RPC_ITEMS
  | typeof FrameType.RPC_END
  | typeof FrameType.RPC_STREAM_ERROR
  | typeof FrameType.RPC_CREDIT
  | typeof FrameType.RPC_STREAM_CANCEL
  | typeof FrameType.RPC_LIST
  | typeof FrameType.RPC_FUNCTIONS
  | typeof FrameType.LINK_ROUTES;

/** The reader of each RPC frame type. */
export const rpcReaders: ReaderTable<RpcFrameType> = {
  [FrameType.RPC_CALL]: readRpcCall,
  [FrameType.RPC_CANCEL]: cancel(FrameType.RPC_CANCEL),
  [FrameType.RPC_STREAM]: readRpcStream,
  [FrameType.RPC_ITEMS]: readRpcItems,
  [FrameType.RPC_END]: readRpcEnd,
  [FrameType.RPC_STREAM_ERROR]: readRpcStreamError,
  [FrameType.RPC_CREDIT]: readRpcCredit,
  [FrameType.RPC_STREAM_CANCEL]: cancel(FrameType.RPC_STREAM_CANCEL),
  [FrameType.RPC_LIST]: readRpcList,
  [FrameType.RPC_FUNCTIONS]: readRpcFunctions,
  [FrameType.LINK_ROUTES]: readLinkRoutes,
};
