/**
 * The functions a server shares, by namespace, and its namespace groups.
 * @module
 */
import { DuplicateNameError, InvalidArgumentError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import { isName } from '../protocol/validate.js';
import { LocalTarget } from './call-target.js';
import { describeFunction, type AnyFunction } from './function-info.js';
import { isStandardSchema, validateArgs, type StandardSchemaV1 } from './standard-schema.js';

/** Namespace used when none is given. */
export const DEFAULT_NAMESPACE = 'DEFAULT';

/** Options of `server.origin`. */
export interface OriginOptions {
  /** Namespace, or namespace group (registers in every member). Default `DEFAULT`. */
  namespace?: string;
  /** Name to share the function under. Default: the function's own name. */
  name?: string;
  /** Standard Schema (zod, valibot, arktype...) for the argument list, checked before each call. */
  params?: StandardSchemaV1;
}

/** A function registered locally. */
export class LocalFunction {
  /** What callers see. */
  readonly info: FunctionInfo;
  /** The call target for this function (made once). */
  readonly target: LocalTarget;

  constructor(
    readonly namespace: string,
    readonly name: string,
    readonly fn: AnyFunction,
    readonly schema: StandardSchemaV1 | undefined,
  ) {
    this.info = describeFunction(name, fn);
    this.target = new LocalTarget(this);
  }

  /** Arguments after schema validation (sync when there is no schema). */
  prepareArgs(args: unknown[]): unknown[] | Promise<unknown[]> {
    return this.schema === undefined ? args : validateArgs(this.schema, args);
  }
}

/** Functions by namespace, and namespace groups. */
export class FunctionRegistry {
  private readonly namespaces = new Map<string, Map<string, LocalFunction>>();
  private readonly groups = new Map<string, string[]>();
  private readonly zoneKeys = new Map<string, string>();
  /** Called with each namespace whose function list changed. */
  onChange: ((namespace: string) => void) | undefined;

  /** Registers `fn`; in a namespace group, in every member namespace. Returns `fn`. */
  register<F extends AnyFunction>(fn: F, options: OriginOptions = {}): F {
    if (typeof fn !== 'function') throw new InvalidArgumentError('origin() takes a function');
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const name = options.name ?? fn.name;
    if (!isName(namespace))
      throw new InvalidArgumentError('origin: namespace must be a non-empty string');
    if (!isName(name)) {
      throw new InvalidArgumentError(
        'origin: the function needs a name (give `name` for anonymous functions)',
      );
    }
    if (options.params !== undefined && !isStandardSchema(options.params)) {
      throw new InvalidArgumentError(
        'origin: params must be a Standard Schema (zod, valibot, arktype...)',
      );
    }
    const targets = this.groups.get(namespace) ?? [namespace];
    for (const target of targets) {
      if (this.namespaces.get(target)?.has(name) === true) {
        throw new DuplicateNameError(`Namespace "${target}" already has a function "${name}"`, {
          namespace: target,
          name,
        });
      }
    }
    for (const target of targets) {
      let functions = this.namespaces.get(target);
      if (functions === undefined) {
        functions = new Map();
        this.namespaces.set(target, functions);
      }
      functions.set(name, new LocalFunction(target, name, fn, options.params));
      this.changed(target);
    }
    return fn;
  }

  /** Removes a function from a namespace (or from each member of a group). */
  unregister(namespace: string, name: string): boolean {
    let removed = false;
    for (const target of this.groups.get(namespace) ?? [namespace]) {
      if (this.namespaces.get(target)?.delete(name) === true) {
        removed = true;
        this.changed(target);
      }
    }
    return removed;
  }

  /** Groups namespaces: functions registered to `group` land in each member. */
  createGroup(group: string, namespaces: string[]): void {
    if (!isName(group))
      throw new InvalidArgumentError('createNamespaceGroup: group must be a non-empty string');
    if (namespaces.length === 0 || !namespaces.every(isName)) {
      throw new InvalidArgumentError('createNamespaceGroup: give at least one namespace');
    }
    if (this.namespaces.has(group)) {
      throw new InvalidArgumentError(`createNamespaceGroup: "${group}" is already a namespace`);
    }
    this.groups.set(group, [...new Set(namespaces)]);
    this.zoneKeys.clear();
    this.changed(group);
  }

  /** Member namespaces of a group, or `[namespace]` for a plain namespace. */
  members(namespace: string): string[] {
    return this.groups.get(namespace) ?? [namespace];
  }

  /** Groups containing `namespace`. */
  groupsOf(namespace: string): string[] {
    const result: string[] = [];
    for (const [group, members] of this.groups) if (members.includes(namespace)) result.push(group);
    return result;
  }

  /** True when `namespace` is a group. */
  isGroup(namespace: string): boolean {
    return this.groups.has(namespace);
  }

  /** The local function `name` in a namespace (first member that has it, for a group). */
  resolve(namespace: string, name: string): LocalFunction | undefined {
    const direct = this.namespaces.get(namespace);
    if (direct !== undefined) return direct.get(name);
    const members = this.groups.get(namespace);
    if (members === undefined) return undefined;
    for (const member of members) {
      const found = this.namespaces.get(member)?.get(name);
      if (found !== undefined) return found;
    }
    return undefined;
  }

  /** Local functions of a namespace (for a group: first member wins per name). */
  list(namespace: string): LocalFunction[] {
    const byName = new Map<string, LocalFunction>();
    for (const member of this.members(namespace)) {
      for (const entry of this.namespaces.get(member)?.values() ?? []) {
        if (!byName.has(entry.name)) byName.set(entry.name, entry);
      }
    }
    return [...byName.values()];
  }

  /**
   * The routing zone of a namespace: it and every namespace joined to it through namespace
   * groups (transitively). Server links share their routes across a zone, so a function
   * learned on a link in one member of a group is reachable through every member.
   */
  zone(namespace: string): Set<string> {
    const zone = new Set<string>();
    const queue = [...this.members(namespace)];
    while (queue.length > 0) {
      const next = queue.pop() as string;
      if (zone.has(next)) continue;
      zone.add(next);
      for (const group of this.groupsOf(next))
        for (const member of this.members(group)) queue.push(member);
    }
    return zone;
  }

  /** A stable name for the zone of `namespace` (its smallest member). Cached: called per remote call. */
  zoneKey(namespace: string): string {
    let key = this.zoneKeys.get(namespace);
    if (key === undefined) {
      for (const member of this.zone(namespace))
        if (key === undefined || member < key) key = member;
      key ??= namespace;
      this.zoneKeys.set(namespace, key);
    }
    return key;
  }

  /** Group names. */
  groupNames(): string[] {
    return [...this.groups.keys()];
  }

  /** Every plain namespace that has functions. */
  namespaceNames(): string[] {
    return [...this.namespaces.keys()];
  }

  private changed(namespace: string): void {
    this.onChange?.(namespace);
    for (const group of this.groupsOf(namespace)) this.onChange?.(group);
  }
}
