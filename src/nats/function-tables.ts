/**
 * Function tables: this node's functions per plain namespace, and those of every other node.
 * A table travels whole with a version; a heartbeat carries the version so a node that missed
 * a push asks for the table again.
 * @module
 */
import type { FunctionInfo } from '../protocol/frames.js';
import { isFunctionInfo } from '../protocol/validate.js';

/** `[namespace, functions][]`. */
export type TableEntries = [string, FunctionInfo[]][];

/** True for well-formed table entries. */
export function isTableEntries(value: unknown): value is TableEntries {
  return (
    Array.isArray(value) &&
    value.every(
      (entry) =>
        Array.isArray(entry) &&
        entry.length === 2 &&
        typeof entry[0] === 'string' &&
        Array.isArray(entry[1]) &&
        entry[1].every(isFunctionInfo),
    )
  );
}

interface RemoteTable {
  instance: string;
  version: number;
  namespaces: Map<string, Map<string, FunctionInfo>>;
}

/** Own and remote function tables. */
export class FunctionTables {
  private readonly own = new Map<string, FunctionInfo[]>();
  /** Version of this node's table; bumped on every change. */
  version = 0;
  private readonly remote = new Map<string, RemoteTable>();

  /** Sets this node's functions in `namespace`; returns the names added and removed. */
  setOwn(
    namespace: string,
    functions: readonly FunctionInfo[],
  ): { added: string[]; removed: string[] } {
    const before = new Set((this.own.get(namespace) ?? []).map((info) => info.name));
    const after = new Set(functions.map((info) => info.name));
    if (functions.length === 0) this.own.delete(namespace);
    else this.own.set(namespace, [...functions]);
    this.version++;
    return {
      added: [...after].filter((name) => !before.has(name)),
      removed: [...before].filter((name) => !after.has(name)),
    };
  }

  /** This node's table. */
  ownEntries(): TableEntries {
    return [...this.own];
  }

  /** The table version known for node `id`, or undefined. */
  versionOf(id: string, instance: string): number | undefined {
    const table = this.remote.get(id);
    return table?.instance === instance ? table.version : undefined;
  }

  /** Applies a node's table (ignored if older); returns the namespaces whose lists changed. */
  applyRemote(id: string, instance: string, version: number, entries: TableEntries): Set<string> {
    const known = this.remote.get(id);
    if (known !== undefined && known.instance === instance && known.version >= version)
      return new Set();
    const namespaces = new Map<string, Map<string, FunctionInfo>>();
    for (const [namespace, functions] of entries)
      namespaces.set(namespace, new Map(functions.map((info) => [info.name, info])));
    this.remote.set(id, { instance, version, namespaces });
    const changed = new Set<string>(namespaces.keys());
    for (const namespace of known?.namespaces.keys() ?? []) changed.add(namespace);
    return changed;
  }

  /** Forgets node `id`; returns the namespaces it had functions in. */
  drop(id: string): Set<string> {
    const known = this.remote.get(id);
    this.remote.delete(id);
    return new Set(known?.namespaces.keys() ?? []);
  }

  /** Forgets every other node's table (the backplane stopped). */
  clearRemote(): void {
    this.remote.clear();
  }

  /** Functions other nodes offer in `namespace`, one per name (nodes in id order). */
  list(namespace: string): FunctionInfo[] {
    const byName = new Map<string, FunctionInfo>();
    for (const id of [...this.remote.keys()].sort()) {
      for (const info of this.remote.get(id)?.namespaces.get(namespace)?.values() ?? [])
        if (!byName.has(info.name)) byName.set(info.name, info);
    }
    return [...byName.values()];
  }

  /** Ids of the other nodes that offer `name` in `namespace`. */
  providers(namespace: string, name: string): string[] {
    const ids: string[] = [];
    for (const [id, table] of this.remote)
      if (table.namespaces.get(namespace)?.has(name) === true) ids.push(id);
    return ids;
  }

  /** A description of `name` in `namespace` on some other node, or undefined. */
  find(namespace: string, name: string): FunctionInfo | undefined {
    for (const table of this.remote.values()) {
      const info = table.namespaces.get(namespace)?.get(name);
      if (info !== undefined) return info;
    }
    return undefined;
  }
}
