/**
 * The remote clones this server knows (`server.clones.clones`) and the ids removed with
 * `deleteClone`. A clone is either added by the user (explicit: kept until deleted, and its
 * url wins over the one it announces) or learned from the mesh (dropped when it leaves or
 * stays out of reach). Learned clones are bounded by `maxClones` (clone-records-cap.ts).
 * @module
 */
import { InvalidArgumentError } from '../errors.js';
import { isName } from '../protocol/validate.js';
import type { AuthFnOut } from './auth.js';
import type { CloneCap } from './clone-records-cap.js';
import { RemoteClone } from './remote-clone.js';

/** Known clones by id, in the order this server heard of them. */
export class CloneTable {
  /** Known remote clones by id (never this server's own id). */
  readonly clones = new Map<string, RemoteClone>();
  /** `deleteClone` means "no link and no gossip" with that clone until `addClone` names it. */
  private readonly deleted = new Set<string>();

  constructor(
    private readonly selfId: string,
    /** The url of a clone changed: a dial in progress goes to the old address. */
    private readonly urlChanged: (id: string) => void,
    /** A clone joined or left the table. */
    private readonly changed: () => void,
    /** Bounds the clones learned from the mesh; `addClone` is not bounded. */
    private readonly cap: CloneCap,
  ) {}

  /** True when `deleteClone` removed `id` and `addClone` did not bring it back. */
  isDeleted(id: string): boolean {
    return this.deleted.has(id);
  }

  /** `addClone`: checks the options, adds the clone or makes a known one explicit. */
  add(options: { id: string; url: string; authFnOut?: AuthFnOut }): RemoteClone {
    const { id, url, authFnOut } = options ?? {};
    if (!isName(id)) throw new InvalidArgumentError('addClone: id must be a non-empty string');
    if (id === this.selfId)
      throw new InvalidArgumentError('addClone: a server cannot be its own clone');
    if (typeof url !== 'string' || !/^wss?:\/\//.test(url)) {
      throw new InvalidArgumentError('addClone: url must start with ws:// or wss://');
    }
    if (authFnOut !== undefined && typeof authFnOut !== 'function') {
      throw new InvalidArgumentError('addClone: authFnOut must be a function');
    }
    this.deleted.delete(id);
    let clone = this.clones.get(id);
    if (clone === undefined) {
      clone = new RemoteClone(id, url, true, authFnOut);
      this.clones.set(id, clone);
      this.changed();
      return clone;
    }
    if (clone.url !== url) this.urlChanged(id);
    clone.url = url;
    clone.explicit = true;
    if (authFnOut !== undefined) clone.authFnOut = authFnOut;
    return clone;
  }

  /** `deleteClone`: true when the clone was known. */
  delete(id: string): boolean {
    if (!isName(id)) throw new InvalidArgumentError('deleteClone: id must be a non-empty string');
    this.deleted.add(id);
    return this.forget(id);
  }

  /** Drops a clone that stayed out of reach (or was deleted): true when it was known. */
  forget(id: string): boolean {
    if (!this.clones.delete(id)) return false;
    this.changed();
    return true;
  }

  /**
   * The mesh named a clone (at `url` when not null), as `from` (a peer) said. Undefined for
   * this server's own id, for deleted clones, and for a new clone past `maxClones`.
   */
  learn(id: string, url: string | null, from?: string): RemoteClone | undefined {
    if (id === this.selfId || this.deleted.has(id)) return undefined;
    let clone = this.clones.get(id);
    if (clone === undefined) {
      if (!this.cap.admit(id, this.clones.size, 'name', from)) return undefined;
      clone = new RemoteClone(id, url, false);
      this.clones.set(id, clone);
      this.changed();
    } else if (url !== null && clone.url !== url && !clone.explicit) {
      // A url given to addClone stays: the announced one may not be reachable from here (NAT, proxies).
      clone.url = url;
      this.urlChanged(id);
    }
    return clone;
  }

  /** A clone announced that it stopped: a learned one is dropped (true), an explicit one kept. */
  left(id: string): boolean {
    const clone = this.clones.get(id);
    if (clone === undefined || clone.explicit) return false;
    return this.forget(id);
  }

  /** `[id, url]` of every known clone but `except`. */
  named(except: string): [string, string | null][] {
    const named: [string, string | null][] = [];
    for (const clone of this.clones.values()) {
      if (clone.id !== except) named.push([clone.id, clone.url]);
    }
    return named;
  }
}
