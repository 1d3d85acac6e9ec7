/**
 * The live clone links: at most one per remote clone, whichever side dialed. Two links to one
 * clone meet when both sides dial at once, or when a redial races the close of the old link;
 * both sides then keep the link dialed by the smaller id, so they agree without a message.
 * @module
 */
import { WsMeshError } from '../errors.js';
import { CloseCode } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import { CloneLink } from './clone-link.js';

/** Live links by peer id, and inbound links by their connection. */
export class LinkTable {
  /** Frames not sent although their link was up (too large for the peer...), each reported. */
  framesUnsent = 0;
  private readonly byPeer = new Map<string, CloneLink>();
  /** Inbound frames and closes arrive by connection; outbound ones come through their dialer. */
  private readonly inbound = new Map<Connection, CloneLink>();

  /** The live link of each linked clone, in the order the links came up. */
  get live(): ReadonlyMap<string, CloneLink> {
    return this.byPeer;
  }

  constructor(private readonly reportError: (error: WsMeshError) => void) {}

  /**
   * True when `peerInstance` differs from the instance of the live link to `peerId`: two
   * processes claim one id. Unknown instances never conflict.
   */
  claimedByOther(peerId: string, peerInstance: string | undefined): boolean {
    const existing = this.byPeer.get(peerId);
    return (
      existing !== undefined &&
      peerInstance !== undefined &&
      existing.peerInstance !== undefined &&
      existing.peerInstance !== peerInstance
    );
  }

  /** Wraps an authenticated inbound connection in a link (not yet live: see {@link open}). */
  addInbound(connection: Connection, peerId: string, peerInstance: string | undefined): CloneLink {
    const link = new CloneLink(peerId, 'in', connection, peerId);
    link.peerInstance = peerInstance;
    this.inbound.set(connection, link);
    return link;
  }

  /** The inbound link on `connection`. */
  inboundLink(connection: Connection): CloneLink | undefined {
    return this.inbound.get(connection);
  }

  /** Forgets the inbound link on a closed `connection` and marks it closed. */
  removeInbound(connection: Connection): CloneLink | undefined {
    const link = this.inbound.get(connection);
    if (link === undefined) return undefined;
    this.inbound.delete(connection);
    link.closed = true;
    return link;
  }

  /**
   * Makes `link` the live link of its peer, unless a live link dialed by a smaller id is
   * there; the losing link is closed. True when `link` is now live.
   */
  open(link: CloneLink): boolean {
    const existing = this.byPeer.get(link.peerId);
    if (existing !== undefined && !existing.closed) {
      const keepNew = link.dialerId <= existing.dialerId;
      (keepNew ? existing : link).close(CloseCode.NORMAL, 'duplicate clone link');
      if (!keepNew) return false;
      // Re-inserted below, so the link order is the order links came up.
      this.byPeer.delete(link.peerId);
    }
    this.byPeer.set(link.peerId, link);
    link.onUnsent = (frameType, error) => this.unsent(link, frameType, error);
    return true;
  }

  /** Removes `link` if it is the live one (a replaced link's close changes nothing). */
  close(link: CloneLink): boolean {
    if (this.byPeer.get(link.peerId) !== link) return false;
    this.byPeer.delete(link.peerId);
    return true;
  }

  /** A frame for a live link was not sent: an error, reported and counted, never silent. */
  private unsent(link: CloneLink, frameType: number, error: unknown): void {
    this.framesUnsent++;
    const code = error instanceof WsMeshError ? error.code : 'ERR_SERIALIZE';
    const why = error instanceof Error ? error.message : String(error);
    this.reportError(
      new WsMeshError(
        code,
        `Clone frame ${String(frameType)} for "${link.peerId}" was not sent: ${why}`,
        { peer: link.peerId, frameType },
      ),
    );
  }

  /** Forgets every link (their connections are closed by the caller). */
  clear(): void {
    this.byPeer.clear();
    this.inbound.clear();
  }
}
