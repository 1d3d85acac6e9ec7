/**
 * Taking in the history pages other nodes send for a resume, within the node's byte budget.
 * Shared by the mesh (clone links) and the NATS backplane, which carry the same HISTORY_PAGE.
 * @module
 */
import type { HistoryPageFrame } from '../protocol/frames.js';
import type { HistoryEntry, StreamInfo } from './positions.js';

/** Most bytes of other nodes' history one node holds while its requests wait. */
export const MAX_PENDING_HISTORY_BYTES = 64 * 1024 * 1024;

/** The answer a request has gathered so far. */
export interface GatheredHistory {
  readonly entries: HistoryEntry[];
  readonly streams: StreamInfo[];
  /** Bytes of `entries`, counted in the node's budget. */
  bytes: number;
  /** Past the budget: the request gave up what it held. */
  overflowed: boolean;
}

/** The node's budget for history that requests hold. */
export interface HistoryBudget {
  pendingBytes: number;
  readonly maxPendingBytes: number;
}

/**
 * Adds one page to `request`. Past the budget the request gives up what it holds (its resume
 * reports recovered: false), so the others can still complete. Entries are copied out of the
 * page: a view would keep the whole page in memory.
 */
export function takePage(
  budget: HistoryBudget,
  request: GatheredHistory,
  frame: HistoryPageFrame,
): void {
  const [, , entries, streams] = frame;
  for (const [stream, seq, at, target, bytes] of entries) {
    if (request.overflowed) break;
    if (budget.pendingBytes + bytes.byteLength > budget.maxPendingBytes) {
      request.overflowed = true;
      budget.pendingBytes -= request.bytes;
      request.bytes = 0;
      request.entries.length = 0;
      break;
    }
    budget.pendingBytes += bytes.byteLength;
    request.bytes += bytes.byteLength;
    request.entries.push({
      stream,
      seq,
      at,
      target,
      bytes: Uint8Array.prototype.slice.call(bytes),
    });
  }
  if (streams === null) return;
  for (const [stream, head, evictedSeq, evictedAt, floor] of streams)
    request.streams.push({ stream, head, evictedSeq, evictedAt, floor });
}
