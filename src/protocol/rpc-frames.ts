/**
 * The RPC frames: calls, streams and their credit, function lists and the routes server
 * links advertise.
 * @module
 */
import type { WireError } from './client-frames.js';
import type { FrameType } from './wire-codes.js';

/** Description of a function shared over RPC. */
export interface FunctionInfo {
  /** Function name. */
  name: string;
  /** Parameter names, as written in the source. */
  params: string[];
  /** Arguments required (parameters before the first default or rest parameter). */
  arity: number;
  /** Most arguments accepted, or null when a rest parameter takes any number. */
  maxArgs: number | null;
  /** `function` (returns a value) or `generator` (streams values). */
  kind: 'function' | 'generator';
}

/**
 * `[30, id, namespace, name, args, hops?, timeout?]`; `hops` = forwarding hops left (default
 * 16, null = default); `timeout` = ms the caller still waits, so forwarding servers wait as long.
 */
export type RpcCallFrame = [
  typeof FrameType.RPC_CALL,
  number,
  string,
  string,
  unknown[],
  (number | null)?,
  number?,
];
/** `[31, id]`: cancel call `id` */
export type RpcCancelFrame = [typeof FrameType.RPC_CANCEL, number];
/** `[32, streamId, namespace, name, args, credit, hops?]` */
export type RpcStreamFrame = [
  typeof FrameType.RPC_STREAM,
  number,
  string,
  string,
  unknown[],
  number,
  number?,
];
/** `[33, streamId, items]` */
export type RpcItemsFrame = [typeof FrameType.RPC_ITEMS, number, unknown[]];
/** `[34, streamId, returnValue]` */
export type RpcEndFrame = [typeof FrameType.RPC_END, number, unknown];
/** `[35, streamId, error]` */
export type RpcStreamErrorFrame = [typeof FrameType.RPC_STREAM_ERROR, number, WireError];
/** `[36, streamId, n]` */
export type RpcCreditFrame = [typeof FrameType.RPC_CREDIT, number, number];
/** `[37, streamId]` */
export type RpcStreamCancelFrame = [typeof FrameType.RPC_STREAM_CANCEL, number];
/** One route in LINK_ROUTES: function name, description, path of server ids (sender first). */
export type LinkRoute = [string, FunctionInfo, string[]];
/** `[40, namespace, routes]` */
export type LinkRoutesFrame = [typeof FrameType.LINK_ROUTES, string, LinkRoute[]];
/** `[38, id, namespace]` */
export type RpcListFrame = [typeof FrameType.RPC_LIST, number, string];
/** `[39, namespace, functions]` */
export type RpcFunctionsFrame = [typeof FrameType.RPC_FUNCTIONS, string, FunctionInfo[]];
