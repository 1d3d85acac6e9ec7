/**
 * The functions a server shares over RPC and how it finds them: local ones first, then those
 * of the other nodes of its cluster (its backplane), then those reached through server links;
 * `origin()` and `registerLogger()` register them, `rpc()` calls them from the server itself,
 * and watchers hear when a namespace's list changes.
 * @module
 */
import type { LinkManager } from '../cluster/link-manager.js';
import { InvalidArgumentError } from '../errors.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { AnyFunction } from '../rpc/function-info.js';
import { LocalBackend } from '../rpc/local-backend.js';
import { createProxy, type RpcProxy, type UntypedApi } from '../rpc/proxy.js';
import { DEFAULT_NAMESPACE, type FunctionRegistry, type OriginOptions } from '../rpc/registry.js';
import type { FunctionResolver } from '../rpc/rpc-responder.js';

/** A logger whose methods `registerLogger` shares (pino, console and most loggers fit). */
export interface SharedLogger {
  info?(...args: unknown[]): unknown;
  warning?(...args: unknown[]): unknown;
  warn?(...args: unknown[]): unknown;
  error?(...args: unknown[]): unknown;
  debug?(...args: unknown[]): unknown;
  exception?(...args: unknown[]): unknown;
}

/** The RPC functions of one server. */
export class ServerFunctions {
  /** How calls find functions: local first, then the cluster, then the best server link route. */
  readonly resolver: FunctionResolver;
  /** Listeners of `rpc()` proxies, told when the function list of their namespace changes. */
  private readonly watchers = new Map<string, Set<(functions: FunctionInfo[]) => void>>();

  constructor(
    private readonly registry: FunctionRegistry,
    links: LinkManager,
    /** Functions of the other nodes of the cluster (through its backplane). */
    cluster: FunctionResolver,
  ) {
    this.resolver = {
      // A local function wins; then the other nodes, then the shortest route through links.
      resolve: (namespace, name) =>
        registry.resolve(namespace, name)?.target ??
        cluster.resolve(namespace, name) ??
        links.resolve(namespace, name),
      list: (namespace) => {
        const local = registry.list(namespace).map((entry) => entry.info);
        const names = new Set(local.map((info) => info.name));
        const result = [...local];
        for (const info of [...cluster.list(namespace), ...links.listRemote(namespace)]) {
          if (names.has(info.name)) continue;
          names.add(info.name);
          result.push(info);
        }
        return result;
      },
    };
  }

  /** `server.origin()`: registers `fn`, or with only options returns a registering decorator. */
  origin<F extends AnyFunction>(
    fnOrOptions: F | OriginOptions,
    options?: OriginOptions,
  ): F | (<G extends AnyFunction>(fn: G) => G) {
    if (typeof fnOrOptions === 'function') return this.registry.register(fnOrOptions, options);
    if (typeof fnOrOptions !== 'object' || fnOrOptions === null || options !== undefined) {
      throw new InvalidArgumentError('origin() takes a function (and options), or only options');
    }
    const decoratorOptions = fnOrOptions;
    return <G extends AnyFunction>(fn: G): G => this.registry.register(fn, decoratorOptions);
  }

  /** A proxy to the functions of `namespace`, called in process through the resolver. */
  proxy<Api = UntypedApi>(namespace: string): Promise<RpcProxy<Api>> {
    const backend = new LocalBackend(this.resolver, (ns, listener) => {
      let set = this.watchers.get(ns);
      if (set === undefined) {
        set = new Set();
        this.watchers.set(ns, set);
      }
      set.add(listener);
      return () => set.delete(listener);
    });
    return createProxy<Api>(backend, namespace, async () => undefined);
  }

  /** Shares a logger's `info`, `warning`, `error`, `debug` and `exception` as RPC functions. */
  registerLogger(logger: SharedLogger, options: { namespace?: string }): void {
    const namespace = options.namespace ?? DEFAULT_NAMESPACE;
    const pick = (
      ...names: (keyof SharedLogger)[]
    ): ((...args: unknown[]) => unknown) | undefined => {
      for (const name of names) {
        const method = logger[name];
        if (typeof method === 'function') return method.bind(logger);
      }
      return undefined;
    };
    const levels: [string, ((...args: unknown[]) => unknown) | undefined][] = [
      ['info', pick('info')],
      ['warning', pick('warning', 'warn')],
      ['error', pick('error')],
      ['debug', pick('debug')],
      ['exception', pick('exception', 'error')],
    ];
    for (const [name, method] of levels) {
      if (method === undefined) continue;
      const shared = (...messages: unknown[]): void => {
        method(...messages);
      };
      this.registry.register(shared, { namespace, name });
    }
  }

  /** Tells the watchers of `namespace` its current function list. */
  notifyWatchers(namespace: string): void {
    const watchers = this.watchers.get(namespace);
    if (watchers !== undefined && watchers.size > 0) {
      const list = this.resolver.list(namespace);
      for (const watcher of watchers) watcher(list);
    }
  }
}
