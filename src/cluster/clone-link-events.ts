/**
 * What happens when a clone link opens, closes or fails to dial, and where each frame on a
 * clone link goes (gossip, relay, history, cluster waits, else the server). Links dialed out
 * report here through the dialers; links dialed in through the clone manager.
 * @module
 */
import { ErrorCode, WsMeshError } from '../errors.js';
import { FrameType, type Frame } from '../protocol/frames.js';
import type { Connection } from '../transport/connection.js';
import type { DialEvents } from './clone-dialers.js';
import type { CloneHost } from './clone-host.js';
import type { CloneLink } from './clone-link.js';
import type { CloneUnits } from './clone-units.js';
import type { GossipDriver } from './gossip-driver.js';
import type { RemoteClone } from './remote-clone.js';

/** The link events of one server's clone mesh. */
export class CloneLinkEvents implements Omit<DialEvents, 'authValueFor'> {
  constructor(
    private readonly host: CloneHost,
    private readonly units: CloneUnits,
    private readonly driver: GossipDriver,
  ) {}

  /**
   * False (and `ERR_DUPLICATE_ID` reported) when a clone dialing in claims this server's own
   * id, or the id of a clone linked from another process.
   */
  canAcceptInbound(peerId: string, peerInstance: string | undefined): boolean {
    // deleteClone means "no link with that clone" in both directions until addClone.
    if (this.units.table.isDeleted(peerId)) return false;
    if (peerId === this.host.id) {
      this.driver.duplicateId(peerId, "a clone dialed in with this server's own id");
      return false;
    }
    if (this.units.linkTable.claimedByOther(peerId, peerInstance)) {
      this.driver.duplicateId(peerId, 'two live servers claim this id');
      return false;
    }
    return true;
  }

  /** An authenticated clone dialed in; false when `canAcceptInbound` refuses it. */
  acceptInbound(connection: Connection, peerId: string, peerInstance: string | undefined): boolean {
    if (!this.canAcceptInbound(peerId, peerInstance)) return false;
    this.linkOpened(this.units.linkTable.addInbound(connection, peerId, peerInstance));
    return true;
  }

  /** A frame on an inbound clone connection. */
  inboundFrame(connection: Connection, frame: Frame): void {
    const link = this.units.linkTable.inboundLink(connection);
    if (link !== undefined) this.linkFrame(link, frame);
  }

  /** An inbound clone connection closed. */
  inboundClosed(connection: Connection): void {
    const link = this.units.linkTable.removeInbound(connection);
    if (link !== undefined) this.linkClosed(link);
  }

  linkOpened(link: CloneLink): void {
    const { linkTable, table, gossip, routes, history } = this.units;
    if (!linkTable.open(link)) return;
    this.host.cloneLinkUp(link.connection, link.peerId, link.direction);
    // A clone that dialed in and is not known yet joins `clones` when its CLONE_SYNC arrives,
    // after the clones that sync names, so `clones` lists clones in the order heard of.
    table.clones.get(link.peerId)?.linkUp();
    // Clones without a record (added here, never linked) are named too, so the peer can dial them.
    this.driver.run(gossip.linkUp(link.peerId, table.named(link.peerId)), link);
    routes.invalidate();
    // After CLONE_SYNC on the same link: the peer knows this clone's interest when it answers.
    history.linkUp(link);
    this.driver.scheduleTopology();
  }

  linkClosed(link: CloneLink): void {
    const { linkTable, table, gossip, routes, history } = this.units;
    if (!linkTable.close(link)) return;
    this.host.cloneLinkDown(link.connection);
    table.clones.get(link.peerId)?.linkDown();
    history.linkDown(link.peerId);
    routes.invalidate();
    // Paths through the link are gone: announced at once, not at the next tick.
    gossip.linkDown();
    this.driver.scheduleFlush();
    this.driver.ensureDialers();
    this.driver.scheduleTopology();
  }

  dialFailed(clone: RemoteClone, error: Error, authRefused: boolean): void {
    clone.dialFailed(this.units.routes.hop(clone.id) !== undefined);
    if (authRefused) this.host.emitAuthError({ id: clone.id, url: clone.url }, error);
    else if (
      error instanceof WsMeshError &&
      (error.code === ErrorCode.CLONE_ID_MISMATCH || error.code === ErrorCode.DUPLICATE_ID)
    ) {
      // Misconfigurations that will not fix themselves: tell the user (once per attempt).
      this.host.reportError(error);
    }
  }

  linkFrame(link: CloneLink, frame: Frame): void {
    const { gossip, table, linkTable, relay, history, waits } = this.units;
    switch (frame[0]) {
      case FrameType.CLONE_SYNC: {
        // The peer's instance tells its restart apart from a second process with its id.
        const own = frame[1].find((record) => record.id === link.peerId);
        if (own !== undefined && link.peerInstance === undefined) {
          link.peerInstance = own.instance;
        }
        this.driver.run(gossip.receive(link.peerId, frame), link);
        const peer = table.learn(link.peerId, null);
        if (peer !== undefined && linkTable.live.get(peer.id) === link) peer.linkUp();
        this.driver.ensureDialers();
        return;
      }
      case FrameType.CLONE_UPDATE:
      case FrameType.CLONE_REQUEST:
      case FrameType.CLONE_DIGEST:
        this.driver.run(gossip.receive(link.peerId, frame), link);
        return;
      case FrameType.CLONE_RELAY:
        relay.receive(link, frame);
        return;
      case FrameType.CLONE_GROUP_DELETE:
        relay.receiveGroupDelete(link, frame);
        return;
      case FrameType.HISTORY_REQUEST:
        void history.receiveRequest(link, frame);
        return;
      case FrameType.HISTORY_PAGE:
        history.receivePage(link, frame);
        return;
      default:
        if (!waits.receive(link, frame)) this.host.cloneLinkFrame(link.connection, frame);
        return;
    }
  }
}
