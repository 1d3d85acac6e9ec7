/**
 * The remote address of an accepted socket, read without leaving anything on the socket.
 * Node's `socket.remoteAddress` caches an object (address, family, port) on the socket and,
 * as the socket has no spare property slot by then, a new property store for it: about 90
 * bytes per connection that an idle server would hold for nothing, since the connection keeps
 * the address itself. The handle's `getpeername` is what that getter calls; a socket without
 * one (or one that already cached its address) is asked through the getter.
 * @module
 */
import type { Socket } from 'node:net';

/** The parts of a Node socket read here (`_handle` and `_peername` are Node's own). */
type PeerSocket = Pick<Socket, 'remoteAddress' | 'connecting'> & {
  _handle?: { getpeername?: (out: { address?: string }) => number } | null;
  _peername?: unknown;
};

/** The address of the last connection: consecutive connections from one address share it. */
let lastAddress: string | undefined;

/** The socket's remote address, as `socket.remoteAddress` gives it; undefined when unknown. */
export function peerAddress(socket: PeerSocket): string | undefined {
  const handle = socket._handle;
  let address: string | undefined;
  if (
    typeof handle?.getpeername === 'function' &&
    socket._peername === undefined &&
    !socket.connecting
  ) {
    const out: { address?: string } = {};
    address = handle.getpeername(out) === 0 ? out.address : undefined;
  } else {
    address = socket.remoteAddress;
  }
  if (address === lastAddress) return lastAddress;
  lastAddress = address;
  return address;
}
