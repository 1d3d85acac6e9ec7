/**
 * History between nodes, the part the mesh (clone links) and the NATS backplane share, since
 * both carry the same HISTORY_REQUEST and HISTORY_PAGE frames: the requests this node waits
 * on (ids, timeouts, the peers still to answer, the byte budget of what they hold) and the
 * pages it answers with. How a question or a page travels is each backplane's own.
 * @module
 */
import {
  FrameType,
  type GroupTarget,
  type HistoryPageFrame,
  type WireHistoryEntry,
  type WireStreamInfo,
} from '../protocol/frames.js';
import type { HistoryAnswer, HistoryEntry, StreamInfo } from './positions.js';

/** Most bytes of other nodes' history one node holds while its requests wait. */
export const MAX_PENDING_HISTORY_BYTES = 64 * 1024 * 1024;
/** How long a request waits, from the question or its last page, in ms. */
export const HISTORY_TIMEOUT = 3000;
/** History requests of this node waiting for answers, at most (more are not asked). */
export const MAX_HISTORY_REQUESTS = 1000;
/** Largest HISTORY_PAGE a node sends (and never above what the asker or the broker takes). */
const PAGE_BYTES = 64 * 1024;
/** Room left in a page for the frame around its entries. */
const PAGE_OVERHEAD = 256;
/** Bytes an entry takes besides its message (stream id, numbers). */
const ENTRY_OVERHEAD = 64;
/** Bytes of pages sent before waiting for the way out to drain. */
const DRAIN_BYTES = 256 * 1024;

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

interface PendingHistory extends GatheredHistory {
  /** Peers asked whose last page has not come. */
  readonly waiting: Set<string>;
  readonly done: () => void;
  /** A page arrived: the answer is coming, wait again from now. */
  readonly touch: () => void;
}

/**
 * The history requests this node waits on: each asks some peers (clone ids or node
 * instances) and resolves with one merged answer when every peer sent its last page, went
 * away, or {@link HISTORY_TIMEOUT} passed without a page.
 */
export class HistoryRequests implements HistoryBudget {
  private nextId = 0;
  private readonly pending = new Map<number, PendingHistory>();
  /** Bytes of other nodes' history held by requests that wait. */
  pendingBytes = 0;
  /** Most {@link pendingBytes}; settable for tests. @internal */
  maxPendingBytes = MAX_PENDING_HISTORY_BYTES;

  /** Requests waiting. */
  get size(): number {
    return this.pending.size;
  }

  /** True when no more requests may wait. */
  get full(): boolean {
    return this.pending.size >= MAX_HISTORY_REQUESTS;
  }

  /**
   * Opens a request: `ask` sends the question under the request's id and returns the peers
   * it reached. Resolves with what they answered (nothing when it reached none).
   */
  open(ask: (id: number) => Iterable<string>): Promise<HistoryAnswer[]> {
    this.nextId = this.nextId >= 2 ** 31 - 1 ? 1 : this.nextId + 1;
    const id = this.nextId;
    return new Promise((resolve) => {
      let timer = setTimeout(() => finish(), HISTORY_TIMEOUT);
      const finish = (): void => {
        clearTimeout(timer);
        if (this.pending.get(id) !== request) return;
        this.pending.delete(id);
        this.pendingBytes -= request.bytes;
        resolve([{ entries: request.entries, streams: request.streams }]);
      };
      const request: PendingHistory = {
        entries: [],
        bytes: 0,
        overflowed: false,
        streams: [],
        waiting: new Set(),
        done: finish,
        touch: () => {
          clearTimeout(timer);
          timer = setTimeout(() => finish(), HISTORY_TIMEOUT);
        },
      };
      this.pending.set(id, request);
      for (const peer of ask(id)) request.waiting.add(peer);
      if (request.waiting.size === 0) finish();
    });
  }

  /** True when request `id` waits for `peer`'s pages. */
  awaits(id: number, peer: string): boolean {
    return this.pending.get(id)?.waiting.has(peer) === true;
  }

  /** A page from `peer` for request `id` (ignored unless the request waits for it). */
  page(id: number, peer: string, frame: HistoryPageFrame): void {
    const request = this.pending.get(id);
    if (request === undefined || !request.waiting.has(peer)) return;
    request.touch();
    takePage(this, request, frame);
    if (frame[4]) this.answered(request, peer);
  }

  /** `peer` will not answer request `id` (its process is gone). */
  gone(id: number, peer: string): void {
    const request = this.pending.get(id);
    if (request !== undefined) this.answered(request, peer);
  }

  /** `peer` will answer no request (its link went down). */
  peerGone(peer: string): void {
    for (const request of [...this.pending.values()]) this.answered(request, peer);
  }

  /** Every request resolves with what it has (the node stops). */
  stop(): void {
    for (const request of [...this.pending.values()]) request.done();
  }

  private answered(request: PendingHistory, peer: string): void {
    if (!request.waiting.delete(peer)) return;
    if (request.waiting.size === 0) request.done();
  }
}

function targetBytes(target: GroupTarget): number {
  if (target === null) return 1;
  if (typeof target === 'string') return target.length * 3 + 5;
  let bytes = 5;
  for (const id of target) bytes += id.length * 3 + 5;
  return bytes;
}

/** Where an answer's pages go: `send` (false: the way out closed) and `drain`. */
export interface PageSink {
  /** Sends one page; false stops the answer. Throws when the way out failed. */
  send(frame: HistoryPageFrame): boolean;
  /** Waits until most of what was sent has left; false stops the answer. */
  drain(): Promise<boolean>;
}

/**
 * Answers request `id` with `answer` in pages of at most `maxPayload` (and 64 KiB), the last
 * one with the stream summary, waiting for `sink` to drain every 256 KiB, so a long history
 * never piles up in an outbound buffer. An entry that fits no page is left out (the asker
 * sees a gap).
 */
export async function sendPages(
  id: number,
  answer: HistoryAnswer,
  maxPayload: number,
  sink: PageSink,
): Promise<void> {
  const budget = Math.min(PAGE_BYTES, maxPayload) - PAGE_OVERHEAD;
  let page: WireHistoryEntry[] = [];
  let bytes = 0;
  let unsent = 0;
  for (const entry of answer.entries) {
    const size = entry.bytes.byteLength + ENTRY_OVERHEAD + targetBytes(entry.target);
    if (size > budget) continue;
    if (bytes + size > budget && page.length > 0) {
      if (!sink.send([FrameType.HISTORY_PAGE, id, page, null, false])) return;
      unsent += bytes;
      page = [];
      bytes = 0;
      if (unsent >= DRAIN_BYTES) {
        unsent = 0;
        if (!(await sink.drain())) return;
      }
    }
    page.push([entry.stream, entry.seq, entry.at, entry.target, entry.bytes]);
    bytes += size;
  }
  const streams: WireStreamInfo[] = answer.streams.map((info) => [
    info.stream,
    info.head,
    info.evictedSeq,
    info.evictedAt,
    info.floor,
  ]);
  sink.send([FrameType.HISTORY_PAGE, id, page, streams, true]);
}
