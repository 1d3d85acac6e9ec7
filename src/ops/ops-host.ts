/**
 * What the operations layer (metrics, dashboard, inspection) reads from a server. `Server`
 * implements it; the layer never changes the server it observes.
 * @module
 */
import type { CloneLink } from '../cluster/clone-link.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { RemoteClone } from '../cluster/remote-clone.js';
import type { FunctionInfo } from '../protocol/frames.js';
import type { ServerStats } from './server-stats.js';

/** One entry of `server.serverLinks()`. */
export type ServerLinkInfo = ReturnType<LinkManager['list']>[number];

/** A node of the clone mesh as this clone's records tell it. */
export interface TopologyEntry {
  id: string;
  url: string | null;
  links: string[];
  groups: string[];
}

/** The server as the operations layer sees it. */
export interface OpsHost {
  readonly id: string;
  readonly url: string | undefined;
  readonly port: number | undefined;
  readonly active: boolean;
  stats(): ServerStats;
  serverLinks(): ServerLinkInfo[];
  readonly clones: {
    readonly clones: ReadonlyMap<string, RemoteClone>;
    readonly links: ReadonlyMap<string, CloneLink>;
    topology(): TopologyEntry[];
    relayByPeer(): ReadonlyMap<string, { framesOut: number; framesIn: number }>;
  };
  readonly groups: { get(): Map<string, { subscribers: { readonly size: number } }> };
  readonly registry: {
    namespaceNames(): string[];
    list(namespace: string): { readonly name: string; readonly info: FunctionInfo }[];
  };
}
