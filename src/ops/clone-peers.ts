/**
 * Per-clone figures for `server.stats()`: state, link latency and relay traffic of every
 * clone this server knows.
 * @module
 */
import type { CloneLink } from '../cluster/clone-link.js';
import type { RemoteClone, RemoteCloneState } from '../cluster/remote-clone.js';

/** Figures of one remote clone. */
export interface ClonePeerStats {
  id: string;
  url: string | null;
  state: RemoteCloneState;
  /** Last timed PING round trip on the direct link, in ms; null without a link or a sample. */
  latencyMs: number | null;
  /** CLONE_RELAY frames sent to this clone as next hop, since start. */
  relayFramesOut: number;
  /** CLONE_RELAY frames received from it, since start. */
  relayFramesIn: number;
}

/** The figures of every known clone, sorted by id. */
export function clonePeerStats(clones: {
  readonly clones: ReadonlyMap<string, RemoteClone>;
  readonly links: ReadonlyMap<string, CloneLink>;
  relayByPeer(): ReadonlyMap<string, { framesOut: number; framesIn: number }>;
}): ClonePeerStats[] {
  const relay = clones.relayByPeer();
  return [...clones.clones.values()]
    .map((clone) => {
      const link = clones.links.get(clone.id);
      const counters = relay.get(clone.id);
      return {
        id: clone.id,
        url: clone.url,
        state: clone.state,
        latencyMs: link === undefined || link.closed ? null : (link.connection.rttMs ?? null),
        relayFramesOut: counters?.framesOut ?? 0,
        relayFramesIn: counters?.framesIn ?? 0,
      };
    })
    .sort((a, b) => a.id.localeCompare(b.id));
}
