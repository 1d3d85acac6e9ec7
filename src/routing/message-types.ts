/**
 * Typed messages: an application declares its routes once (what each takes and answers) and
 * both sides are checked against that declaration, as with tRPC routers or Socket.IO's typed
 * events. Types only; nothing here exists at run time.
 *
 * ```ts
 * interface ChatApi {
 *   // Routes the server handles: what clients send with sendMes.
 *   server: {
 *     echo: { data: string; res: string };            // one spec for every act
 *     todo: {                                          // or one per act
 *       add: { data: { title: string }; res: number };
 *       list: { res: Todo[] };                         // no data
 *     };
 *   };
 *   // Routes clients handle: what the server and group publishes send them.
 *   client: { chat: { data: { from: string; text: string } } };
 * }
 * const server = new Server<ChatApi>({ port: 3000 });
 * const client = new Client<ChatApi>({ url });
 * const n = await client.sendMes({ route: 'todo', act: 'add', data: { title: 'x' }, awaitRes: true }); // number
 * ```
 * @module
 */
import type { WsMeshError } from '../errors.js';
import type { MessageContext } from './message.js';

/** What one message takes (`data`) and answers (`res`). Omit `data` for none. */
export interface MessageSpec {
  /** The payload. */
  data?: unknown;
  /** The reply (what the handler returns). */
  res?: unknown;
}

/**
 * The messages of an application. `server`: routes the server handles (each a
 * {@link MessageSpec} for any act, or an object of acts to specs); `client`: routes clients
 * handle. A side that is left out stays untyped; `MessageTypes` itself (the default of
 * `Server` and `Client`) declares nothing.
 */
export interface MessageTypes {
  /** Routes the server handles (what clients send with `sendMes`). */
  server?: object;
  /** Routes clients handle (what the server sends them and what groups deliver). */
  client?: object;
}

/** Routes of an untyped side: any route, any data, any reply. */
export interface UntypedRoutes {
  [route: string]: MessageSpec;
}

/** The routes of one side of `M` (untyped when `M` leaves it out). */
export type RoutesOf<M, Side extends 'server' | 'client'> = M extends {
  [K in Side]: infer R extends object;
}
  ? R
  : UntypedRoutes;

/** True when `Routes` declares nothing (any string is a route). */
export type IsUntyped<Routes> = string extends keyof Routes ? true : false;

/** `Typed` when `Routes` is declared, else `Untyped` (picks typed or untyped signatures). */
export type IfTyped<Routes, Typed, Untyped> = IsUntyped<Routes> extends true ? Untyped : Typed;

/** Routes the server of `M` handles (what clients send). */
export type ServerSide<M> = RoutesOf<M, 'server'>;

/** Routes the clients of `M` handle (what the server and groups send them). */
export type ClientSide<M> = RoutesOf<M, 'client'>;

/** True when a route entry is a single spec (its keys are only `data` and `res`). */
export type IsSpec<Entry> = [Exclude<keyof Entry, 'data' | 'res'>] extends [never] ? true : false;

/** The route names of `Routes`. */
export type RouteName<Routes> = keyof Routes & string;

/** The acts of a route: any string for a single-spec route, else the declared acts. */
export type ActName<Routes, Route extends keyof Routes> =
  IsSpec<Routes[Route]> extends true ? string : keyof Routes[Route] & string;

/** The spec of `route` and `act` in `Routes`. */
export type SpecOf<Routes, Route extends keyof Routes, Act> =
  IsSpec<Routes[Route]> extends true
    ? Routes[Route]
    : Act extends keyof Routes[Route]
      ? Routes[Route][Act]
      : never;

/** The payload type of a spec (`undefined` when it declares none). */
export type DataOf<Spec> = Spec extends { data: infer D }
  ? D
  : Spec extends { data?: infer D }
    ? D | undefined
    : undefined;

/** The reply type of a spec (`unknown` when it declares none). */
export type ResOf<Spec> = Spec extends { res?: infer R } ? R : unknown;

/**
 * Result handed to `cbAfterRes`: `{res}` with the reply, or `{error, res: null}` when the
 * request failed (timeout, remote error, closed connection...).
 */
export type ResponseResult<Res = unknown> =
  { error?: undefined; res: Res } | { error: WsMeshError; res: null };

/** The `act` field of typed options: free for a single-spec route, else a declared act. */
export type ActField<Routes, Route extends keyof Routes, Act> =
  IsSpec<Routes[Route]> extends true
    ? { /** Action within the route (any: one spec covers the route). */ act?: string }
    : { /** Action within the route. */ act: Act };

/** The `data` field of typed options: optional when the spec's data may be undefined. */
export type DataField<D> = undefined extends D
  ? { /** Payload. */ data?: D }
  : { /** Payload. */ data: D };

/** Options of a typed `sendMes` to `route` / `act` of `Routes`. */
export type TypedSendOptions<Routes, Route extends RouteName<Routes>, Act> = {
  /** Route name. */
  route: Route;
  /** Resolve with the reply instead of as soon as the message is written. */
  awaitRes?: boolean;
  /** Called with `{res}` or `{error, res: null}` when the reply (or an error) comes. */
  cbAfterRes?: (result: ResponseResult<ResOf<SpecOf<Routes, Route, Act>>>) => void;
  /** Reply timeout in ms. @default the owner's `awaitResTimeout` */
  timeout?: number;
  /** Stops waiting for the reply when aborted. */
  signal?: AbortSignal;
} & ActField<Routes, Route, Act> &
  DataField<DataOf<SpecOf<Routes, Route, Act>>>;

/** Options of a typed `sendMesToGroup` (group messages go to the clients' routes). */
export type TypedGroupOptions<Routes, Route extends RouteName<Routes>, Act> = {
  /** One group id, several, or none for every group. */
  id?: string | string[];
  /** Route name (a route clients handle). */
  route: Route;
  /** Do not deliver the message back to this client. @default false */
  notSendMe?: boolean;
  /** Resolve with the number of deliveries on the server. @default false */
  awaitRes?: boolean;
  /** Reply timeout in ms. @default the client's `awaitResTimeout` */
  timeout?: number;
} & ActField<Routes, Route, Act> &
  DataField<DataOf<SpecOf<Routes, Route, Act>>>;

/** What a typed handler may return: the declared reply (or a promise of it). */
export type HandlerResult<Res> = unknown extends Res
  ? unknown
  : Res | undefined | Promise<Res | undefined>;

/** A route definition typed from `Routes`: the handler's `data` and return value are checked. */
export type TypedRoute<
  Context extends MessageContext,
  Routes,
  Route extends RouteName<Routes>,
  Act,
> = {
  /** Route name. */
  route: Route;
  /** Handler; its return value is the reply. */
  handler: (
    context: Context & { readonly data: DataOf<SpecOf<Routes, Route, Act>> },
  ) => HandlerResult<ResOf<SpecOf<Routes, Route, Act>>>;
} & (IsSpec<Routes[Route]> extends true
  ? { /** Action within the route; omit to match any act. */ act?: string }
  : { /** Action within the route. */ act: Act });
