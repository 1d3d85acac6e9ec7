/**
 * History between clones: a clone asks its linked clones for a group's history after a
 * position (HISTORY_REQUEST) and each answers in pages under the asker's maxPayload
 * (HISTORY_PAGE). Used by resumes (src/groups/resume.ts) and to heal a link: when a link
 * comes back, this clone fetches from that peer what it missed, for every group it has
 * subscribers in, and delivers it to them once (history drops copies).
 * @module
 */
import {
  MAX_PENDING_HISTORY_BYTES,
  takePage,
  type GatheredHistory,
} from '../groups/history-intake.js';
import { FanoutMessage } from '../groups/fanout-message.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { HistoryStore } from '../groups/history.js';
import { planRecovery, type GroupPosition, type HistoryAnswer } from '../groups/positions.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { Subscriber } from '../groups/subscriber.js';
import type { Codec } from '../protocol/codec.js';
import {
  FrameType,
  type HistoryPageFrame,
  type HistoryRequestFrame,
  type WireHistoryEntry,
  type WireStreamInfo,
} from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';

/** How long a resume waits for the other clones' history, in ms. */
export const HISTORY_TIMEOUT = 3000;
/** History requests of this clone waiting for answers, at most. */
export const MAX_HISTORY_REQUESTS = 1000;
/** Largest HISTORY_PAGE this clone sends (and never above the asker's maxPayload). */
const PAGE_BYTES = 64 * 1024;
/** Room left in a page for the frame around its entries. */
const PAGE_OVERHEAD = 256;
/** Bytes an entry takes besides its message (stream id, numbers, target). */
const ENTRY_OVERHEAD = 64;

/** What clone history needs from the clone manager. */
export interface CloneHistoryContext {
  readonly links: ReadonlyMap<string, CloneLink>;
  readonly groups: GroupManager<Subscriber>;
  /** Groups with subscribers on this clone. */
  readonly interest: ReadonlySet<string>;
  readonly codec: Codec;
  reportError(error: unknown): void;
}

interface PendingRequest extends GatheredHistory {
  waiting: number;
  readonly links: Set<string>;
  readonly done: () => void;
  /** A page arrived: the answer is coming, wait again from now. */
  readonly touch: () => void;
}

/** Bytes of pages sent before waiting for the link to drain. */
const DRAIN_BYTES = 256 * 1024;

function tick(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Waits until `link` has written most of its queue (false: it closed, or stayed full 10 s). */
async function drained(link: CloneLink): Promise<boolean> {
  const deadline = Date.now() + 10_000;
  await tick(0);
  while (!link.closed && link.connection.bufferedAmount > DRAIN_BYTES) {
    if (Date.now() > deadline) return false;
    await tick(10);
  }
  return !link.closed;
}

function targetBytes(target: WireHistoryEntry[3]): number {
  if (target === null) return 1;
  if (typeof target === 'string') return target.length * 3 + 5;
  let bytes = 5;
  for (const id of target) bytes += id.length * 3 + 5;
  return bytes;
}

/** Clone side of history: answering, asking, healing. */

export class CloneHistory implements HistoryPeers {
  private nextId = 0;
  private readonly pending = new Map<number, PendingRequest>();
  /** When each peer's link went down (epoch ms), to heal from when it comes back. */
  private readonly downSince = new Map<string, number>();
  /** Messages a healed link brought that this clone had missed, since start. */
  healed = 0;
  /** Bytes of history held for requests still waiting. */
  pendingBytes = 0;
  /** Most {@link pendingBytes}; settable for tests. @internal */
  maxPendingBytes = MAX_PENDING_HISTORY_BYTES;

  /** Gaps being filled, `groupId stream`, so one gap is asked for once. */
  private readonly filling = new Set<string>();

  constructor(private readonly context: CloneHistoryContext) {
    context.groups.history.onGap = (groupId, stream, after, before) =>
      this.fillGap(groupId, stream, after, before);
  }

  /**
   * A relayed message skipped sequences of its stream: asks every linked clone for the
   * missing ones and delivers those it gets (late, out of order, rather than never).
   */
  private fillGap(groupId: string, stream: string, after: number, before: number): void {
    const key = `${groupId} ${stream}`;
    if (this.filling.has(key) || this.context.links.size === 0) return;
    this.filling.add(key);
    const since: GroupPosition = { s: { [stream]: after }, t: Date.now() };
    void this.ask([...this.context.links.values()], groupId, since).then((answers) => {
      this.filling.delete(key);
      const { groups, codec } = this.context;
      for (const entry of planRecovery(since, answers).entries) {
        if (entry.stream !== stream || entry.seq >= before) continue;
        try {
          const message = FanoutMessage.fromEncoded(entry.target, codec, entry.bytes);
          void message.frame;
          if (!groups.history.keepReceived(message)) continue;
          this.healed++;
          groups.fanOutCounted(message, undefined);
        } catch (error) {
          this.context.reportError(error);
        }
      }
    });
  }

  private get store(): HistoryStore {
    return this.context.groups.history;
  }

  fetch(groupId: string, since: GroupPosition): Promise<HistoryAnswer[]> {
    return this.ask([...this.context.links.values()], groupId, since);
  }

  /** Asks `links` for the history of `groupId` after `since`; one merged answer per request. */
  private ask(links: CloneLink[], groupId: string, since: GroupPosition): Promise<HistoryAnswer[]> {
    if (links.length === 0 || this.pending.size >= MAX_HISTORY_REQUESTS) return Promise.resolve([]);
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
      const request: PendingRequest = {
        entries: [],
        bytes: 0,
        overflowed: false,
        streams: [],
        waiting: 0,
        links: new Set(),
        done: finish,
        touch: () => {
          clearTimeout(timer);
          timer = setTimeout(() => finish(), HISTORY_TIMEOUT);
        },
      };
      this.pending.set(id, request);
      const frame: HistoryRequestFrame = [FrameType.HISTORY_REQUEST, id, groupId, since];
      for (const link of links) {
        if (link.send(frame)) {
          request.waiting++;
          request.links.add(link.peerId);
        }
      }
      if (request.waiting === 0) finish();
    });
  }

  /**
   * HISTORY_REQUEST from a clone: the answer in pages that fit its maxPayload, sent as the
   * link drains (a long history must not overflow the link's outbound buffer).
   */
  async receiveRequest(link: CloneLink, frame: HistoryRequestFrame): Promise<void> {
    const [, id, groupId, since] = frame;
    const answer = this.store.query(groupId, since);
    const budget = Math.min(PAGE_BYTES, link.connection.peerMaxPayload) - PAGE_OVERHEAD;
    let page: WireHistoryEntry[] = [];
    let bytes = 0;
    let unsent = 0;
    for (const entry of answer.entries) {
      const size = entry.bytes.byteLength + ENTRY_OVERHEAD + targetBytes(entry.target);
      // An entry that cannot fit any page is left out: the asker sees a gap.
      if (size > budget) continue;
      if (bytes + size > budget && page.length > 0) {
        if (!link.send([FrameType.HISTORY_PAGE, id, page, null, false] satisfies HistoryPageFrame))
          return;
        unsent += bytes;
        page = [];
        bytes = 0;
        if (unsent >= DRAIN_BYTES) {
          unsent = 0;
          if (!(await drained(link))) return;
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
    link.send([FrameType.HISTORY_PAGE, id, page, streams, true] satisfies HistoryPageFrame);
  }

  /** HISTORY_PAGE from a clone this clone asked. */
  receivePage(link: CloneLink, frame: HistoryPageFrame): void {
    const [, id, , , last] = frame;
    const request = this.pending.get(id);
    if (request === undefined || !request.links.has(link.peerId)) return;
    request.touch();
    takePage(this, request, frame);
    if (last) this.linkDone(request, link.peerId);
  }

  /** A link went down: requests waiting on it stop waiting; healing starts from now. */
  linkDown(peerId: string): void {
    if (!this.downSince.has(peerId)) this.downSince.set(peerId, Date.now());
    for (const request of [...this.pending.values()]) this.linkDone(request, peerId);
  }

  /**
   * A link is up again: fetches from that peer what this clone missed while it was down, for
   * every group with subscribers here and history, and delivers it.
   */
  linkUp(link: CloneLink): void {
    const since = this.downSince.get(link.peerId);
    this.downSince.delete(link.peerId);
    if (since === undefined || this.store.off) return;
    for (const groupId of this.context.interest) {
      if (this.store.configFor(groupId) === undefined) continue;
      const position = { ...this.store.heads(groupId), t: since };
      // Live messages of the group wait (kept in history) so the heal delivers in order.
      this.store.hold(groupId);
      void this.ask([link], groupId, position).then((answers) =>
        this.heal(groupId, position, answers),
      );
    }
  }

  /**
   * Delivers what the peer had and this clone missed, with what was held back meanwhile,
   * in order and once (made from this clone's history, which kept the held messages).
   */
  private heal(groupId: string, since: GroupPosition, answers: HistoryAnswer[]): void {
    const { groups, codec } = this.context;
    const { history } = groups;
    const plan = planRecovery(since, [...answers, history.query(groupId, since)]);
    history.release(groupId);
    for (const entry of plan.entries) {
      // This clone's own messages were delivered when published.
      if (entry.stream === history.stream) continue;
      try {
        const message = FanoutMessage.fromEncoded(entry.target, codec, entry.bytes);
        void message.frame; // checked before its bytes reach sockets as they are
        if (history.keepReceived(message)) this.healed++;
        groups.fanOutCounted(message, undefined);
      } catch (error) {
        this.context.reportError(error);
      }
    }
  }

  /** Fails every request still waiting (the clone stops). */
  stop(): void {
    for (const request of [...this.pending.values()]) request.done();
    this.downSince.clear();
  }

  private linkDone(request: PendingRequest, peerId: string): void {
    if (!request.links.delete(peerId)) return;
    request.waiting--;
    if (request.waiting === 0) request.done();
  }
}
