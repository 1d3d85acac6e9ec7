/**
 * The NATS subjects of one wsmesh cluster (all under its `prefix`). Operators grant a node
 * publish and subscribe on `<prefix>.>`; docs/backplane.md lists each subject.
 * @module
 */

const PLAIN_TOKEN = /^[A-Za-z0-9_-]+$/;

/**
 * A group id, namespace or function name as one subject token. Names made of letters, digits,
 * `_` and `-` stay readable; anything else (dots, spaces, `*`, `>`, non-ASCII) becomes `~`
 * followed by its UTF-8 bytes in base64url, which never collides with a plain token.
 */
export function token(name: string): string {
  return PLAIN_TOKEN.test(name) ? name : `~${Buffer.from(name, 'utf8').toString('base64url')}`;
}

/** The subjects of one cluster, and of this node's inbox. */
export class Subjects {
  /** Heartbeats: hello, beat and bye of every node. */
  readonly node: string;
  /** Messages to every group. */
  readonly all: string;
  /** Group deletions. */
  readonly deleted: string;
  /** Function tables, pushed when they change. */
  readonly functions: string;
  /** Queue group every node's function subscriptions join (load balancing). */
  readonly rpcQueue: string;
  /**
   * Cancellations of calls, heard by every node: the caller does not know which node of the
   * queue group runs its call.
   */
  readonly cancel: string;
  /** This node's inbox: replies, stream items and controls addressed to it (with `.>`). */
  readonly inbox: string;

  constructor(
    readonly prefix: string,
    instance: string,
  ) {
    this.node = `${prefix}.node`;
    this.all = `${prefix}.all`;
    this.deleted = `${prefix}.del`;
    this.functions = `${prefix}.fn`;
    this.rpcQueue = `${prefix}.rpc`;
    this.cancel = `${prefix}.cancel`;
    this.inbox = this.inboxOf(instance);
  }

  /** Messages of one group. */
  group(groupId: string): string {
    return `${this.prefix}.g.${token(groupId)}`;
  }

  /** Presence changes of one group (subscribed with the group's messages). */
  presence(groupId: string): string {
    return `${this.prefix}.p.${token(groupId)}`;
  }

  /** Calls and stream openings of one function (a queue subscription per node that has it). */
  rpc(namespace: string, name: string): string {
    return `${this.prefix}.rpc.${token(namespace)}.${token(name)}`;
  }

  /** The inbox of a node process. */
  inboxOf(instance: string): string {
    return `${this.prefix}.n.${instance}`;
  }
}
