/**
 * History between nodes over NATS (docs/recovery.md): a node asks every other node for a
 * group's history after a position, and each answers from its own history in pages under
 * NATS' max_payload. Used by resumes (a client that failed over from a dead node gets what
 * any surviving node kept), and to heal this node's own gaps: after its NATS connection
 * comes back (messages published meanwhile never reached it) and when a message skips
 * sequences of its stream.
 *
 * The question is a HISTORY_REQUEST frame on the answering node's inbox (`.h`), whose reply
 * subject is `<asker's inbox>.hp.<id>.<answering instance>`; the answer is HISTORY_PAGE
 * frames on that subject, the last one with the stream summary. Both are MessagePack and
 * read with the wire validator, as on clone links. A request goes out after the subscription
 * that the resume made, on the same connection: once a node answers, its NATS server knows
 * this node's interest, so what it publishes afterwards comes live (and a copy that comes
 * both ways is dropped by history).
 * @module
 */
import { HistoryRequests, sendPages } from '../groups/history-intake.js';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import type { HistoryStore } from '../groups/history.js';
import { planRecovery, type GroupPosition, type HistoryAnswer } from '../groups/positions.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { Codec } from '../protocol/codec.js';
import { FrameType, type HistoryPageFrame, type HistoryRequestFrame } from '../protocol/frames.js';
import { validateFrame } from '../protocol/validate.js';
import type { NodeEntry } from './nodes.js';
import { noResponders } from './rpc-wire.js';
import type { Subjects } from './subjects.js';

/** Inbox suffix of history requests. */
export const HISTORY_SUFFIX = 'h';
/** Inbox suffix (then `.<id>.<instance>`) of the pages answering this node's requests. */
export const PAGE_SUFFIX = 'hp';
/** Answers this node writes at once; more wait their turn. */
const ANSWERS_AT_ONCE = 8;
/** Answers waiting their turn, at most; past it a request is not answered (the asker times out). */
const MAX_WAITING_ANSWERS = 1000;

/** This node's side of history over NATS: asking, answering, healing. */
export class NatsHistory implements HistoryPeers {
  /** Requests of this node waiting for other nodes' pages; also its history byte budget. */
  private readonly requests = new HistoryRequests();
  /** Bytes of other nodes' history held by requests that wait. */
  get pendingBytes(): number {
    return this.requests.pendingBytes;
  }
  /** Most {@link pendingBytes} (the mesh's bound); settable for tests. @internal */
  set maxPendingBytes(bytes: number) {
    this.requests.maxPendingBytes = bytes;
  }
  /** Answers being written now, and those waiting their turn. */
  private answering = 0;
  private readonly queue: Msg[] = [];
  /** While the NATS connection is down: the held groups and where this node stood in each. */
  private healing: Map<string, GroupPosition> | undefined;
  /**
   * Node processes known when the connection dropped, until the reconnect. Asked too: a
   * disconnect longer than the heartbeat timeout empties the node table, which refills only
   * as the other nodes announce themselves again, after the heal has asked. One that died
   * answers at once (no responders).
   */
  private known: string[] = [];
  /** Gaps being filled, `groupId stream`, so one gap is asked for once. */
  private readonly filling = new Set<string>();
  private stopped = false;
  private readonly gapHandler = (groupId: string, stream: string, after: number, before: number) =>
    this.fillGap(groupId, stream, after, before);

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly host: BackplaneHost,
    private readonly nodes: () => Iterable<NodeEntry>,
    /** Groups this node is subscribed to (those it has local members in). */
    private readonly interest: () => Iterable<string>,
  ) {
    this.store.onGap = this.gapHandler;
  }

  private get store(): HistoryStore {
    return this.host.history;
  }

  fetch(groupId: string, since: GroupPosition): Promise<HistoryAnswer[]> {
    return this.ask(groupId, since);
  }

  /** A message on this node's inbox; false when the suffix is not history's. */
  inbox(suffix: string, msg: Msg): boolean {
    if (suffix === HISTORY_SUFFIX) {
      this.requested(msg);
      return true;
    }
    if (suffix.startsWith(`${PAGE_SUFFIX}.`)) {
      this.page(suffix.slice(PAGE_SUFFIX.length + 1), msg);
      return true;
    }
    return false;
  }

  /**
   * The NATS connection dropped: what is published from now on may never reach this node.
   * Every group it has members in and history is held from now (its live messages wait in
   * history), so that after the reconnect what was missed is delivered before them.
   */
  disconnected(): void {
    if (this.healing !== undefined || this.store.off) return;
    const t = Date.now();
    this.known = [...this.nodes()].map((node) => node.instance);
    this.healing = new Map();
    for (const groupId of this.interest()) {
      if (this.store.configFor(groupId) === undefined) continue;
      this.store.hold(groupId);
      this.healing.set(groupId, { ...this.store.heads(groupId), t });
    }
  }

  /**
   * The NATS connection is back (subscriptions restored): fetches from the other nodes what
   * the held groups missed meanwhile and delivers it, then what came live since, in order.
   */
  reconnected(): void {
    const healing = this.healing;
    this.healing = undefined;
    if (healing === undefined) return;
    for (const [groupId, position] of healing) {
      void this.ask(groupId, position).then((answers) => this.heal(groupId, position, answers));
    }
    // Asked; from now on the node table (refilled by the heartbeats) says who to ask.
    this.known = [];
  }

  /** The backplane stops: every request waiting resolves with what it has. */
  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    for (const groupId of this.healing?.keys() ?? []) this.store.release(groupId);
    this.healing = undefined;
    this.requests.stop();
    if (this.store.onGap === this.gapHandler) this.store.onGap = undefined;
  }

  /**
   * Asks every other node for the history of `groupId` after `since`; one merged answer. A
   * node is waited for until its last page, NATS' no-responders (its process is gone), or the
   * timeout; not until the node table drops it, which after this node's own disconnect
   * happens to live nodes too, before their next heartbeat.
   */
  private ask(groupId: string, since: GroupPosition): Promise<HistoryAnswer[]> {
    const nodes = new Set(this.known);
    for (const node of this.nodes()) nodes.add(node.instance);
    if (this.stopped || nodes.size === 0 || this.requests.full) return Promise.resolve([]);
    return this.requests.open((id) => {
      const question = this.codec.encode([
        FrameType.HISTORY_REQUEST,
        id,
        groupId,
        since,
      ] satisfies HistoryRequestFrame) as Uint8Array;
      const asked: string[] = [];
      for (const instance of nodes) {
        try {
          this.nc.publish(`${this.subjects.inboxOf(instance)}.${HISTORY_SUFFIX}`, question, {
            reply: `${this.subjects.inbox}.${PAGE_SUFFIX}.${id}.${instance}`,
          });
          asked.push(instance);
        } catch (error) {
          // Closed connection: that node cannot answer.
          this.host.reportError(error);
        }
      }
      return asked;
    });
  }

  /** A page of an answer to one of this node's requests (`rest` is `<id>.<instance>`). */
  private page(rest: string, msg: Msg): void {
    const dot = rest.indexOf('.');
    const id = Number(rest.slice(0, dot));
    const instance = rest.slice(dot + 1);
    if (dot < 0 || !this.requests.awaits(id, instance)) return;
    // No such inbox any more (the node died): it will not answer.
    if (noResponders(msg)) {
      this.requests.gone(id, instance);
      return;
    }
    let frame: HistoryPageFrame;
    try {
      const value = validateFrame(this.codec.decode(msg.data));
      if (value[0] !== FrameType.HISTORY_PAGE || value[1] !== id) return;
      frame = value;
    } catch {
      return;
    }
    this.requests.page(id, instance, frame);
  }

  /** A HISTORY_REQUEST from another node: answered in turn, a few at once. */
  private requested(msg: Msg): void {
    if (msg.reply === undefined || this.stopped) return;
    if (this.answering >= ANSWERS_AT_ONCE) {
      if (this.queue.length < MAX_WAITING_ANSWERS) this.queue.push(msg);
      return;
    }
    this.answering++;
    void this.answer(msg).finally(() => {
      this.answering--;
      const next = this.queue.shift();
      if (next !== undefined) this.requested(next);
    });
  }

  /**
   * The answer in pages under max_payload, published as the NATS connection drains (a long
   * history must not pile up in this node's outbound buffer).
   */
  private async answer(msg: Msg): Promise<void> {
    const reply = msg.reply as string;
    let request: HistoryRequestFrame;
    try {
      const value = validateFrame(this.codec.decode(msg.data));
      if (value[0] !== FrameType.HISTORY_REQUEST) return;
      request = value;
    } catch {
      return;
    }
    const [, id, groupId, since] = request;
    try {
      await sendPages(id, this.store.query(groupId, since), this.nc.info?.max_payload ?? Infinity, {
        send: (page) => {
          this.send(reply, page);
          return true;
        },
        drain: async () => {
          await this.nc.flush();
          return !this.stopped;
        },
      });
    } catch (error) {
      // The connection closed under the answer: the asker stops waiting after its timeout.
      if (!this.stopped) this.host.reportError(error);
    }
  }

  private send(subject: string, frame: HistoryPageFrame): void {
    this.nc.publish(subject, this.codec.encode(frame) as Uint8Array);
  }

  /**
   * A message from another node skipped sequences of its stream (the ones before it were
   * published while this node's connection was down): asks the other nodes for the missing
   * ones and delivers those it gets, late and out of order, rather than never.
   */
  private fillGap(groupId: string, stream: string, after: number, before: number): void {
    const key = `${groupId} ${stream}`;
    // A group being healed gets the missing messages from the heal, in order.
    if (this.filling.has(key) || this.store.held(groupId)) return;
    this.filling.add(key);
    const since: GroupPosition = { s: { [stream]: after }, t: Date.now() };
    void this.ask(groupId, since).then((answers) => {
      this.filling.delete(key);
      for (const entry of planRecovery(since, answers).entries) {
        if (entry.stream !== stream || entry.seq >= before) continue;
        this.host.deliverRecovered({ target: entry.target, payload: entry.bytes }, true);
      }
    });
  }

  /**
   * Delivers what the other nodes had and this node missed, with what was held back
   * meanwhile, in order and once (the plan includes this node's history, which kept the
   * held messages).
   */
  private heal(groupId: string, since: GroupPosition, answers: HistoryAnswer[]): void {
    const { store } = this;
    const plan = planRecovery(since, [...answers, store.query(groupId, since)]);
    store.release(groupId);
    for (const entry of plan.entries) {
      // This node's own messages were delivered when published.
      if (entry.stream === store.stream) continue;
      this.host.deliverRecovered({ target: entry.target, payload: entry.bytes }, false);
    }
  }
}
