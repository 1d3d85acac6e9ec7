/**
 * Middlewares and routes, shared by server and client. Middlewares run first, in order; then
 * the routes that match, in the order they were added, until one returns a value other than
 * `undefined` or calls `stop()`. That value is the reply.
 *
 * Matching: a route without `route` matches every message; `route` alone matches that route
 * with any act; `route` and `act` match exactly; `act` alone matches that act on any route.
 * @module
 */
import { InvalidArgumentError, NoRouteError } from '../errors.js';
import { isName } from '../protocol/validate.js';
import type { MessageContext } from './message.js';
import { isThenable } from '../util/thenable.js';

/** A middleware: runs before routes; `stop()` makes its return value the reply. */
export type Middleware<C extends MessageContext> = (context: C) => unknown;

/** A route handler: its return value (or resolved value) is the reply. */
export type RouteHandler<C extends MessageContext> = (context: C) => unknown;

/** Arguments of `addRoute`. */
export interface RouteDefinition<C extends MessageContext> {
  /** Route name; omit to match every message. */
  route?: string;
  /** Action within the route; omit to match any act. */
  act?: string;
  /** Handler; its return value is the reply. */
  handler: RouteHandler<C>;
}

interface RouteEntry<C extends MessageContext> {
  route: string | undefined;
  act: string | undefined;
  handler: RouteHandler<C>;
}

/** Marker returned when nothing handled a message. */
export const NOT_ROUTED: unique symbol = Symbol('wsmesh.notRouted');

/** Ordered middlewares and routes with a per-route match cache. */
export class Router<C extends MessageContext> {
  private readonly middlewares: Middleware<C>[] = [];
  private readonly routes: RouteEntry<C>[] = [];
  private readonly byRoute = new Map<string | null, RouteEntry<C>[]>();
  private readonly routeNames = new Set<string>();
  private lastRoute: string | null = null;
  private lastList: RouteEntry<C>[] | undefined;
  /**
   * The handler of `lastRoute` when one route without `act` alone matches it (the usual
   * case), and whether middlewares exist: a subscriber of many connections reads these from
   * the router itself, not from the arrays behind them, which are cold by its next message.
   */
  private lastOnly: RouteHandler<C> | undefined;
  private middlewareAdded = false;

  /** True when a route of this exact name was added (catch-all routes do not count). */
  hasRoute(route: string): boolean {
    return this.routeNames.has(route);
  }

  /** True once a middleware was added. */
  get hasMiddlewares(): boolean {
    return this.middlewareAdded;
  }

  /** Adds a middleware. */
  use(middleware: Middleware<C>): void {
    if (typeof middleware !== 'function') {
      throw new InvalidArgumentError('use() takes a function');
    }
    this.middlewares.push(middleware);
    this.middlewareAdded = true;
  }

  /** Adds a route. */
  addRoute(definition: RouteDefinition<C>): void {
    if (typeof definition !== 'object' || definition === null) {
      throw new InvalidArgumentError('addRoute() takes {route?, act?, handler}');
    }
    const { route, act, handler } = definition;
    if (typeof handler !== 'function')
      throw new InvalidArgumentError('addRoute: handler must be a function');
    if (route !== undefined && !isName(route)) {
      throw new InvalidArgumentError(
        'addRoute: route must be a non-empty string of at most 256 characters',
      );
    }
    if (act !== undefined && !isName(act)) {
      throw new InvalidArgumentError(
        'addRoute: act must be a non-empty string of at most 256 characters',
      );
    }
    this.routes.push({ route, act, handler });
    if (route !== undefined) this.routeNames.add(route);
    this.byRoute.clear();
    this.lastList = undefined;
    this.lastOnly = undefined;
  }

  /**
   * Runs a message through middlewares and routes. Returns the reply, a promise of it, or
   * {@link NOT_ROUTED} when no middleware stopped and no route matched. Throws (or rejects)
   * with what a middleware or handler threw.
   */
  dispatch(context: C): unknown {
    if (this.middlewareAdded) return this.runMiddlewares(context, 0);
    return this.runRoutes(context, this.candidates(context.mes.route), 0, false, context.mes.act);
  }

  /**
   * {@link dispatch} for a message whose `route` and `act` the caller holds: without
   * middlewares, `context.mes` is not read (a context may make it only when it is read).
   */
  dispatchMessage(context: C, route: string | null, act: string | null): unknown {
    if (this.middlewareAdded) return this.runMiddlewares(context, 0);
    const only = this.lastOnly;
    if (only !== undefined && route === this.lastRoute) return this.runOnly(context, only);
    return this.runRoutes(context, this.candidates(route), 0, false, act);
  }

  /**
   * Runs only the middlewares (for subscriptions and publishes, which have no routes).
   * Returns the stopping middleware's value, or undefined when none stopped.
   */
  dispatchMiddlewares(context: C): unknown {
    return this.runMiddlewares(context, 0, true);
  }

  private candidates(route: string | null): RouteEntry<C>[] {
    // Most messages on a connection share their route: remember the last one.
    if (route === this.lastRoute && this.lastList !== undefined) return this.lastList;
    let list = this.byRoute.get(route);
    if (list === undefined) {
      list = this.routes.filter((entry) => entry.route === undefined || entry.route === route);
      this.byRoute.set(route, list);
    }
    this.lastRoute = route;
    this.lastList = list;
    const [first] = list;
    this.lastOnly =
      list.length === 1 && first !== undefined && first.act === undefined
        ? first.handler
        : undefined;
    return list;
  }

  private runMiddlewares(context: C, from: number, only = false): unknown {
    const { middlewares } = this;
    for (let index = from; index < middlewares.length; index++) {
      const middleware = middlewares[index] as Middleware<C>;
      const result = middleware(context);
      if (isThenable(result)) {
        return Promise.resolve(result).then((value) =>
          context.stopped ? value : this.runMiddlewares(context, index + 1, only),
        );
      }
      if (context.stopped) return result;
    }
    if (only) return undefined;
    const { mes } = context;
    return this.runRoutes(context, this.candidates(mes.route), 0, false, mes.act);
  }

  /** {@link runRoutes} for a list of one route that matches any act. */
  private runOnly(context: C, handler: RouteHandler<C>): unknown {
    const result = handler(context);
    // Nothing after it: a promise's value, or undefined, is the outcome (the route matched).
    return isThenable(result) ? Promise.resolve(result).then((value) => value) : result;
  }

  /** `act` is the message's act when these routes start; re-read after an awaited handler. */
  private runRoutes(
    context: C,
    list: RouteEntry<C>[],
    from: number,
    matched: boolean,
    act: string | null,
  ): unknown {
    for (let index = from; index < list.length; index++) {
      const entry = list[index] as RouteEntry<C>;
      if (entry.act !== undefined && entry.act !== act) continue;
      const result = entry.handler(context);
      if (isThenable(result)) {
        return Promise.resolve(result).then((value) =>
          context.stopped || value !== undefined
            ? value
            : this.runRoutes(context, list, index + 1, true, context.mes.act),
        );
      }
      if (context.stopped || result !== undefined) return result;
      matched = true;
    }
    return matched ? undefined : NOT_ROUTED;
  }
}

/** Error for a message that no route matched. */
export function noRouteError(route: string | null, act: string | null): NoRouteError {
  return new NoRouteError(
    `No route for route=${JSON.stringify(route)} act=${JSON.stringify(act)}`,
    {
      route,
      act,
    },
  );
}
