/**
 * The shape of `server.stats()`: a leaf module, so the ops layer (metrics, dashboard, cluster
 * state) reads a server's figures without importing the server.
 * @module
 */
import type { BackplaneState } from '../backplane/backplane.js';
import type { RouteStats } from '../routing/route-counters.js';
import type { ClonePeerStats } from './clone-peers.js';
import type { FunctionStats } from './rpc-stats.js';

/** Figures returned by `server.stats()`. */
export interface ServerStats {
  id: string;
  active: boolean;
  /** Clients that completed the handshake. */
  clients: number;
  /** Open sockets, including handshaking ones and clone links. */
  sockets: number;
  /** Messages (MESSAGE frames) received from clients. */
  messagesIn: number;
  /**
   * Messages in (from clients) and out (sent by this server, group publishes once each) per
   * route; see {@link RouteStats} for the `(none)`, `(unrouted)` and `(other)` labels.
   */
  routes: RouteStats[];
  /** Upgrades refused by `maxConnections` or `maxConnectionsPerIp`. */
  rejectedConnections: number;
  /** Frames refused by `rateLimit`. */
  rateLimited: number;
  /** Group messages published on this server. */
  publishes: number;
  /** Deliveries of group messages to this server's connections (local and relayed). */
  deliveries: number;
  /**
   * Group messages not written to a connection because they are larger than the `maxPayload`
   * that connection announced in HELLO (the connection stays open and gets the next ones).
   */
  groupMessagesTooLarge: number;
  groups: number;
  /** Memberships (connection-group pairs) on this server; capped by `maxSubscriptions`. */
  subscriptions: number;
  /** Client subscriptions refused by the server-wide `maxGroups` or `maxSubscriptions`. */
  subscriptionsRefused: number;
  /** Group history and resumes (docs/recovery.md). */
  history: {
    /** Messages kept now, over all groups. */
    kept: number;
    /** Messages delivered to resuming clients since start. */
    recovered: number;
    /** Resumes that recovered everything, and those that reported a gap. */
    resumesComplete: number;
    resumesIncomplete: number;
    /** Resumes running now. */
    resumesRunning: number;
    /** Resumes waiting for a slot of their connection (at most 8 run per connection). */
    resumesWaiting: number;
    /**
     * Messages this node had missed that other nodes' history brought back: healed clone
     * links, on NATS a reconnect or a gap.
     */
    healed: number;
  };
  clones: {
    known: number;
    linked: number;
    relayedOut: number;
    relayedIn: number;
    /**
     * Clone frames not sent although the link was up (larger than the peer's maxPayload, or
     * not encodable); each is also reported through the `error` event.
     */
    framesUnsent: number;
    /** Every known clone: state, link latency, relay frames to and from it. */
    peers: ClonePeerStats[];
    /** Records of other clones held: at most `maxClones`, plus clones linked or added here. */
    records: number;
    /**
     * Records and names of clones refused by `maxClones` since start (each refusal is also
     * logged, at most one warning per 10 s).
     */
    refused: number;
    /** What became of addressed clone frames (acknowledgements, presence), since start. */
    addressed: {
      /** Frames passed on towards another clone. */
      forwarded: number;
      /** Frames dropped because no record gives a path to their `from` (made up, or gone). */
      unknownOrigin: number;
      /** Frames dropped because they kept passing this clone (a loop while routes disagree). */
      looping: number;
      /** Presence fetches left unanswered because identical ones came too fast. */
      fetchesPaced: number;
    };
  };
  /** The backplane's state when the `backplane` option is set (NATS...), else null. */
  backplane: BackplaneState | null;
  /** Live RPC server links (`createServerProxy`, both directions; clone links not included). */
  serverLinks: number;
  rpc: {
    calls: number;
    errors: number;
    namespaces: number;
    /** Per-function calls, errors and latency; filled when `metrics` or `dashboard` is on. */
    functions: FunctionStats[];
  };
}
