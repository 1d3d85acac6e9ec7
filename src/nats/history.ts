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
import {
  MAX_PENDING_HISTORY_BYTES,
  takePage,
  type GatheredHistory,
} from '../groups/history-intake.js';
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import type { HistoryStore } from '../groups/history.js';
import { planRecovery, type GroupPosition, type HistoryAnswer } from '../groups/positions.js';
import type { HistoryPeers } from '../groups/resume.js';
import type { Codec } from '../protocol/codec.js';
import {
  FrameType,
  type GroupTarget,
  type HistoryPageFrame,
  type HistoryRequestFrame,
  type WireHistoryEntry,
  type WireStreamInfo,
} from '../protocol/frames.js';
import { validateFrame } from '../protocol/validate.js';
import type { NodeEntry } from './nodes.js';
import { noResponders } from './rpc-wire.js';
import type { Subjects } from './subjects.js';

/** Inbox suffix of history requests. */
export const HISTORY_SUFFIX = 'h';
/** Inbox suffix (then `.<id>.<instance>`) of the pages answering this node's requests. */
export const PAGE_SUFFIX = 'hp';
/** How long a request waits for the other nodes, from the request or the last page, in ms. */
export const HISTORY_TIMEOUT = 3000;
/** History requests of this node waiting for answers, at most (more are not asked). */
export const MAX_HISTORY_REQUESTS = 1000;
/** Answers this node writes at once; more wait their turn. */
const ANSWERS_AT_ONCE = 8;
/** Answers waiting their turn, at most; past it a request is not answered (the asker times out). */
const MAX_WAITING_ANSWERS = 1000;
/** Largest page (and never above the NATS server's max_payload). */
const PAGE_BYTES = 64 * 1024;
/** Room left in a page for the frame around its entries. */
const PAGE_OVERHEAD = 256;
/** Bytes an entry takes besides its message (stream id, numbers). */
const ENTRY_OVERHEAD = 64;
/** Bytes of pages published before waiting for the NATS server to have read them. */
const DRAIN_BYTES = 256 * 1024;

interface PendingRequest extends GatheredHistory {
  /** Instances whose last page has not come. */
  readonly waiting: Set<string>;
  readonly done: () => void;
  /** A page arrived: the answer is coming, wait again from now. */
  readonly touch: () => void;
}

function targetBytes(target: GroupTarget): number {
  if (target === null) return 1;
  if (typeof target === 'string') return target.length * 3 + 5;
  let bytes = 5;
  for (const id of target) bytes += id.length * 3 + 5;
  return bytes;
}

/** This node's side of history over NATS: asking, answering, healing. */
export class NatsHistory implements HistoryPeers {
  private nextId = 0;
  private readonly pending = new Map<number, PendingRequest>();
  /** Bytes of other nodes' history held by requests that wait. */
  pendingBytes = 0;
  /** Most {@link pendingBytes} (the mesh's bound); settable for tests. @internal */
  maxPendingBytes = MAX_PENDING_HISTORY_BYTES;
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
    for (const request of [...this.pending.values()]) request.done();
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
    if (this.stopped || nodes.size === 0 || this.pending.size >= MAX_HISTORY_REQUESTS)
      return Promise.resolve([]);
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
        waiting: new Set(),
        done: finish,
        touch: () => {
          clearTimeout(timer);
          timer = setTimeout(() => finish(), HISTORY_TIMEOUT);
        },
      };
      this.pending.set(id, request);
      const question = this.codec.encode([
        FrameType.HISTORY_REQUEST,
        id,
        groupId,
        since,
      ] satisfies HistoryRequestFrame) as Uint8Array;
      for (const instance of nodes) {
        try {
          this.nc.publish(`${this.subjects.inboxOf(instance)}.${HISTORY_SUFFIX}`, question, {
            reply: `${this.subjects.inbox}.${PAGE_SUFFIX}.${id}.${instance}`,
          });
          request.waiting.add(instance);
        } catch (error) {
          // Closed connection: that node cannot answer.
          this.host.reportError(error);
        }
      }
      if (request.waiting.size === 0) finish();
    });
  }

  /** A page of an answer to one of this node's requests (`rest` is `<id>.<instance>`). */
  private page(rest: string, msg: Msg): void {
    const dot = rest.indexOf('.');
    const id = Number(rest.slice(0, dot));
    const instance = rest.slice(dot + 1);
    const request = this.pending.get(id);
    if (dot < 0 || request === undefined || !request.waiting.has(instance)) return;
    // No such inbox any more (the node died): it will not answer.
    if (noResponders(msg)) {
      this.answered(request, instance);
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
    request.touch();
    takePage(this, request, frame);
    if (frame[4]) this.answered(request, instance);
  }

  private answered(request: PendingRequest, instance: string): void {
    if (!request.waiting.delete(instance)) return;
    if (request.waiting.size === 0) request.done();
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
    const answer = this.store.query(groupId, since);
    const maxPayload = this.nc.info?.max_payload ?? PAGE_BYTES;
    const budget = Math.min(PAGE_BYTES, maxPayload) - PAGE_OVERHEAD;
    let page: WireHistoryEntry[] = [];
    let bytes = 0;
    let unsent = 0;
    try {
      for (const entry of answer.entries) {
        const size = entry.bytes.byteLength + ENTRY_OVERHEAD + targetBytes(entry.target);
        // An entry that cannot fit any page is left out: the asker sees a gap.
        if (size > budget) continue;
        if (bytes + size > budget && page.length > 0) {
          this.send(reply, [FrameType.HISTORY_PAGE, id, page, null, false]);
          unsent += bytes;
          page = [];
          bytes = 0;
          if (unsent >= DRAIN_BYTES) {
            unsent = 0;
            await this.nc.flush();
            if (this.stopped) return;
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
      this.send(reply, [FrameType.HISTORY_PAGE, id, page, streams, true]);
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
