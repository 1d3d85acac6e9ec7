/**
 * Group messages over NATS: one subject per group, subscribed while the group has local
 * members, plus one subject for messages to every group. A message to several groups is
 * published once per group subject in one envelope `[instance, seq, target, payload]`; a node
 * in several of those groups receives the copies back to back (NATS keeps one publisher's
 * order on a connection) and delivers only the first, so every subscriber gets it once.
 * @module
 */
import type { NatsConnection, Subscription } from '@nats-io/transport-node';
import type { BackplaneHost, BackplaneMessage } from '../backplane/backplane.js';
import type { Codec } from '../protocol/codec.js';
import type { GroupTarget } from '../protocol/frames.js';
import type { Subjects } from './subjects.js';

/** `ack` is 1 when the publisher will ask every node for its deliveries (cluster-acks.ts). */
type Envelope = [
  instance: string,
  seq: number,
  target: GroupTarget,
  payload: Uint8Array,
  ack?: number,
];

/** Deliveries of acknowledged publishes remembered, per node, until their publisher asks. */
const ACKED_KEPT = 4096;

function isTarget(value: unknown): value is GroupTarget {
  return (
    value === null ||
    typeof value === 'string' ||
    (Array.isArray(value) && value.every((id) => typeof id === 'string'))
  );
}

function isEnvelope(value: unknown): value is Envelope {
  return (
    Array.isArray(value) &&
    value.length >= 4 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'number' &&
    isTarget(value[2]) &&
    value[3] instanceof Uint8Array
  );
}

/** This node's group subscriptions and publishes. */
export class NatsGroups {
  private readonly subscriptions = new Map<string, Subscription[]>();
  /** Deliveries of acknowledged publishes by `instance seq`, oldest first. */
  private readonly acked = new Map<string, number>();
  /** Presence changes of a group this node is subscribed to (cluster-acks.ts). */
  onPresence: ((data: Uint8Array) => void) | undefined;
  private seq = 0;
  /** Last multi-group message delivered per publishing process (the de-duplication key). */
  private readonly lastMulti = new Map<string, number>();
  messagesOut = 0;
  messagesIn = 0;
  /** Envelopes that did not decode (a foreign publisher on our subjects). */
  malformed = 0;

  constructor(
    private readonly nc: NatsConnection,
    private readonly codec: Codec,
    private readonly subjects: Subjects,
    private readonly instance: string,
    private readonly host: BackplaneHost,
  ) {}

  /** Subscribes to messages for every group (always on). */
  start(): void {
    this.nc.subscribe(this.subjects.all, {
      callback: (error, msg) => {
        // A denied subject: reported through the connection's status.
        if (error === null) this.receive(msg.data);
      },
    });
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** The groups this node is subscribed to. */
  ids(): IterableIterator<string> {
    return this.subscriptions.keys();
  }

  /** True while this node is subscribed to `groupId`. */
  has(groupId: string): boolean {
    return this.subscriptions.has(groupId);
  }

  subscribe(groupId: string): void {
    if (this.subscriptions.has(groupId)) return;
    const messages = this.nc.subscribe(this.subjects.group(groupId), {
      callback: (error, msg) => {
        // A denied subject: reported through the connection's status.
        if (error === null) this.receive(msg.data);
      },
    });
    const presence = this.nc.subscribe(this.subjects.presence(groupId), {
      callback: (error, msg) => {
        if (error === null) this.onPresence?.(msg.data);
      },
    });
    this.subscriptions.set(groupId, [messages, presence]);
  }

  unsubscribe(groupId: string): void {
    const subscriptions = this.subscriptions.get(groupId);
    if (subscriptions === undefined) return;
    this.subscriptions.delete(groupId);
    for (const subscription of subscriptions) subscription.unsubscribe();
  }

  /** Deliveries of acknowledged publish `seq` of `instance` here, if it arrived. */
  deliveredCount(instance: string, seq: number): number | undefined {
    return this.acked.get(`${instance} ${seq}`);
  }

  /** Publishes; returns the message's sequence number (its key for acknowledgements). */
  publish(message: BackplaneMessage, ack = false): number {
    const { target } = message;
    const envelope: Envelope = [this.instance, ++this.seq, target, message.payload];
    if (ack) envelope.push(1);
    const bytes = this.codec.encode(envelope) as Uint8Array;
    if (target === null) {
      this.nc.publish(this.subjects.all, bytes);
    } else if (typeof target === 'string') {
      this.nc.publish(this.subjects.group(target), bytes);
    } else {
      for (const id of new Set(target)) this.nc.publish(this.subjects.group(id), bytes);
    }
    this.messagesOut++;
    return envelope[1];
  }

  /** A publishing process is gone: forget its de-duplication state. */
  forget(instance: string): void {
    this.lastMulti.delete(instance);
  }

  private receive(data: Uint8Array): void {
    let envelope: unknown;
    try {
      envelope = this.codec.decode(data);
    } catch {
      envelope = undefined;
    }
    if (!isEnvelope(envelope)) {
      this.malformed++;
      return;
    }
    const [instance, seq, target, payload, ack] = envelope;
    if (instance === this.instance) return;
    if (Array.isArray(target) && target.length > 1) {
      if (this.lastMulti.get(instance) === seq) return;
      this.lastMulti.set(instance, seq);
    }
    this.messagesIn++;
    const delivered = this.host.deliver({ target, payload });
    if (ack !== 1) return;
    this.acked.set(`${instance} ${seq}`, delivered);
    if (this.acked.size > ACKED_KEPT) this.acked.delete(this.acked.keys().next().value as string);
  }
}
