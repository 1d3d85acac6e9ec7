/**
 * Messages in and out per route, for `server.stats().routes` and the `/metrics` endpoint.
 * Labels must stay few: inbound messages count under their route only when the server has a
 * route of that name (a client inventing routes lands in `(unrouted)`), and at most
 * {@link MAX_ROUTE_LABELS} routes get a label of their own; later ones count as `(other)`.
 * @module
 */

/** Most routes counted under their own name. */
export const MAX_ROUTE_LABELS = 100;
/** Label of messages without a route (`route: null`). */
export const NO_ROUTE_LABEL = '(none)';
/** Label of inbound messages whose route the server does not have. */
export const UNROUTED_LABEL = '(unrouted)';
/** Label of routes beyond {@link MAX_ROUTE_LABELS}. */
export const OTHER_ROUTE_LABEL = '(other)';

/** Counts of one route. */
export interface RouteStats {
  /** The route, or one of `(none)`, `(unrouted)`, `(other)`. */
  route: string;
  /** MESSAGE frames received from clients. */
  in: number;
  /** Messages sent by this server: to one connection (`ws.sendMes`) or to groups (once per publish). */
  out: number;
}

/** Per-route message counters. */
export class RouteCounters {
  private readonly counts = new Map<string, RouteStats>();

  /** @param isKnown whether the server has a route of this name (inbound labels) */
  constructor(private readonly isKnown: (route: string) => boolean) {}

  /** Counts a message received from a client. */
  countIn(route: string | null): void {
    const label = route === null ? NO_ROUTE_LABEL : this.isKnown(route) ? route : UNROUTED_LABEL;
    this.entry(label).in++;
  }

  /** Counts a message this server sent. */
  countOut(route: string | null): void {
    this.entry(route ?? NO_ROUTE_LABEL).out++;
  }

  /** Every counted route, in first-seen order. */
  snapshot(): RouteStats[] {
    return [...this.counts.values()].map((stats) => ({ ...stats }));
  }

  private entry(label: string): RouteStats {
    let stats = this.counts.get(label);
    if (stats === undefined) {
      const capped = this.counts.size >= MAX_ROUTE_LABELS ? OTHER_ROUTE_LABEL : label;
      stats = this.counts.get(capped);
      if (stats === undefined) {
        stats = { route: capped, in: 0, out: 0 };
        this.counts.set(capped, stats);
      }
    }
    return stats;
  }
}
