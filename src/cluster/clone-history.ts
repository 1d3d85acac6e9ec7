/**
 * History between clones: a clone asks its linked clones for a group's history after a
 * position (HISTORY_REQUEST) and each answers in pages under the asker's maxPayload
 * (HISTORY_PAGE). Used by resumes (src/groups/resume.ts) and to heal a link: when a link
 * comes back, this clone fetches from that peer what it missed, for every group it has
 * subscribers in, and delivers it to them once (history drops copies).
 * @module
 */
import { HistoryRequests, sendPages } from '../groups/history-intake.js';
import { FanoutMessage } from '../groups/fanout-message.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { HistoryStore } from '../groups/history.js';
import { planRecovery, type GroupPosition, type HistoryAnswer } from '../groups/positions.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { Subscriber } from '../groups/subscriber.js';
import type { Codec } from '../protocol/codec.js';
import { FrameType, type HistoryPageFrame, type HistoryRequestFrame } from '../protocol/frames.js';
import type { CloneLink } from './clone-link.js';

/** What clone history needs from the clone manager. */
export interface CloneHistoryContext {
  readonly links: ReadonlyMap<string, CloneLink>;
  readonly groups: GroupManager<Subscriber>;
  /** Groups with subscribers on this clone. */
  readonly interest: ReadonlySet<string>;
  readonly codec: Codec;
  reportError(error: unknown): void;
}

/** Bytes a link may hold queued before an answer waits for it to drain. */
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

/** Clone side of history: answering, asking, healing. */

export class CloneHistory implements HistoryPeers {
  /** Requests of this clone waiting for other clones' pages; also its history byte budget. */
  readonly requests = new HistoryRequests();
  /** When each peer's link went down (epoch ms), to heal from when it comes back. */
  private readonly downSince = new Map<string, number>();
  /** Messages a healed link brought that this clone had missed, since start. */
  healed = 0;
  /** Bytes of history held for requests still waiting. */
  get pendingBytes(): number {
    return this.requests.pendingBytes;
  }
  /** Most {@link pendingBytes}; settable for tests. @internal */
  set maxPendingBytes(bytes: number) {
    this.requests.maxPendingBytes = bytes;
  }

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
    if (links.length === 0 || this.requests.full) return Promise.resolve([]);
    return this.requests.open((id) => {
      const frame: HistoryRequestFrame = [FrameType.HISTORY_REQUEST, id, groupId, since];
      return links.filter((link) => link.send(frame)).map((link) => link.peerId);
    });
  }

  /**
   * HISTORY_REQUEST from a clone: the answer in pages that fit its maxPayload, sent as the
   * link drains (a long history must not overflow the link's outbound buffer).
   */
  async receiveRequest(link: CloneLink, frame: HistoryRequestFrame): Promise<void> {
    const [, id, groupId, since] = frame;
    await sendPages(id, this.store.query(groupId, since), link.connection.peerMaxPayload, {
      send: (page) => link.send(page),
      drain: () => drained(link),
    });
  }

  /** HISTORY_PAGE from a clone this clone asked. */
  receivePage(link: CloneLink, frame: HistoryPageFrame): void {
    this.requests.page(frame[1], link.peerId, frame);
  }

  /** A link went down: requests waiting on it stop waiting; healing starts from now. */
  linkDown(peerId: string): void {
    if (!this.downSince.has(peerId)) this.downSince.set(peerId, Date.now());
    this.requests.peerGone(peerId);
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
    this.requests.stop();
    this.downSince.clear();
  }
}
