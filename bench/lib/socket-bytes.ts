/**
 * The bytes a process's TCP sockets have written and read: every socket it opens or accepts
 * after {@link countSocketBytes} is found through `node:diagnostics_channel` and kept (a
 * closed socket keeps its counts). Unlike the process's I/O counters (/proc/self/io), files
 * and pipes are not counted.
 * @module
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Socket } from 'node:net';

/** Bytes written and read. */
export interface SocketBytes {
  written: number;
  read: number;
}

/** Starts counting; the returned function tells the totals so far. */
export function countSocketBytes(): () => SocketBytes {
  const sockets = new Set<Socket>();
  const onSocket = (message: unknown): void => {
    sockets.add((message as { socket: Socket }).socket);
  };
  subscribe('net.client.socket', onSocket);
  subscribe('net.server.socket', onSocket);
  return () => {
    let written = 0;
    let read = 0;
    for (const socket of sockets) {
      written += socket.bytesWritten;
      read += socket.bytesRead;
    }
    return { written, read };
  };
}
