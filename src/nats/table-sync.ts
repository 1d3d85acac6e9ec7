/**
 * Function tables between nodes over NATS: this node's table pushed whole (one push per tick
 * of changes), another node's table asked for when a heartbeat shows a version this node does
 * not have, and answers to those questions. The tables themselves are in function-tables.ts.
 * @module
 */
import type { Msg, NatsConnection } from '@nats-io/transport-node';
import type { BackplaneHost } from '../backplane/backplane.js';
import type { Codec } from '../protocol/codec.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { isTableEntries, type FunctionTables } from './function-tables.js';
import type { NodeEntry, NodeTable } from './nodes.js';
import type { Subjects } from './subjects.js';

/** The connection a sync uses while the backplane is started. */
export interface TableLink {
  readonly nc: NatsConnection;
  readonly codec: Codec;
  readonly host: BackplaneHost;
}

/** Keeps the function tables of the nodes in step. */
export class TableSync {
  private pushScheduled = false;
  private readonly fetching = new Set<string>();

  constructor(
    private readonly tables: FunctionTables,
    private readonly nodes: NodeTable,
    private readonly subjects: Subjects,
    private readonly instance: string,
    /** How long a table question waits for its answer (ms). */
    private readonly timeout: number,
    /** The connection while started, else undefined. */
    private readonly link: () => TableLink | undefined,
  ) {}

  /** This node's table changed: pushes it, once for every change made in one tick. */
  schedulePush(): void {
    if (this.pushScheduled) return;
    this.pushScheduled = true;
    setImmediate(() => {
      this.pushScheduled = false;
      const link = this.link();
      if (link === undefined) return;
      const frame = [link.host.id, this.instance, this.tables.version, this.tables.ownEntries()];
      try {
        link.nc.publish(this.subjects.functions, link.codec.encode(frame) as Uint8Array);
      } catch (error) {
        link.host.reportError(error);
      }
    });
  }

  /** Asks a node for its whole function table (it joined, or a push was missed). */
  async fetch(link: TableLink, node: NodeEntry): Promise<void> {
    const key = `${node.id}\u0000${node.instance}`;
    if (this.fetching.has(key)) return;
    this.fetching.add(key);
    try {
      const reply = await link.nc.request(`${this.subjects.inboxOf(node.instance)}.t`, undefined, {
        timeout: this.timeout,
      });
      const value = link.codec.decode(reply.data);
      if (this.link() !== link || !Array.isArray(value)) return;
      const [version, entries]: unknown[] = value;
      if (typeof version !== 'number' || !isTableEntries(entries)) return;
      if (this.nodes.nodes.get(node.id)?.instance !== node.instance) return;
      this.apply(link, node.id, node.instance, version, entries);
    } catch {
      // The next heartbeat with a version we do not have asks again.
    } finally {
      this.fetching.delete(key);
    }
  }

  /** Another node asks for this node's table (`<inbox>.t`). */
  requested(msg: Msg): void {
    const link = this.link();
    if (link === undefined || msg.reply === undefined) return;
    msg.respond(link.codec.encode([this.tables.version, this.tables.ownEntries()]) as Uint8Array);
  }

  /** A node pushed its table (`<prefix>.fn`). */
  pushed(msg: Msg): void {
    const link = this.link();
    if (link === undefined) return;
    let value: unknown;
    try {
      value = link.codec.decode(msg.data);
    } catch {
      return;
    }
    if (!Array.isArray(value)) return;
    const [, instance, version, entries]: unknown[] = value;
    if (typeof instance !== 'string' || typeof version !== 'number' || !isTableEntries(entries))
      return;
    // Only nodes already known: a table from an unknown node waits for its heartbeat.
    for (const node of this.nodes.nodes.values()) {
      if (node.instance === instance) {
        node.tableVersion = Math.max(node.tableVersion, version);
        this.apply(link, node.id, instance, version, entries);
        return;
      }
    }
  }

  private apply(
    link: TableLink,
    id: string,
    instance: string,
    version: number,
    entries: [string, FunctionInfo[]][],
  ): void {
    for (const namespace of this.tables.applyRemote(id, instance, version, entries))
      link.host.functionsChanged(namespace);
  }
}
