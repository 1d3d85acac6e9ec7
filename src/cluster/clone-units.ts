/**
 * The units of one server's clone mesh, built and wired to each other: the known clones, the
 * link table, the groups observer, gossip, routes, relay, cluster waits, history and dialers.
 * What a unit needs from the manager (whether the server runs, the codec, a record flush,
 * the link events) comes in through `CloneUnitsControl`.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { ClusterWaits } from './clone-cluster-waits.js';
import { CloneDialers, type DialEvents } from './clone-dialers.js';
import { CloneGossip } from './clone-gossip.js';
import { CloneGroupsObserver } from './clone-groups.js';
import { CloneHistory } from './clone-history.js';
import type { CloneHost } from './clone-host.js';
import { CloneCap } from './clone-records-cap.js';
import { CloneRelay } from './clone-relay.js';
import { CloneTable } from './clone-table.js';
import { LinkTable } from './link-table.js';
import { RouteTable } from './routes.js';

/** The units of the clone mesh, one job each. */
export interface CloneUnits {
  /** The `maxClones` bound of the table and the records. */
  readonly cap: CloneCap;
  readonly table: CloneTable;
  readonly linkTable: LinkTable;
  readonly groupEvents: CloneGroupsObserver;
  readonly gossip: CloneGossip;
  readonly routes: RouteTable;
  readonly relay: CloneRelay;
  readonly waits: ClusterWaits;
  readonly history: CloneHistory;
  readonly dialers: CloneDialers;
}

/** What the units read from, and tell, the clone manager. */
export interface CloneUnitsControl {
  /** Random id of this server process. */
  readonly instance: string;
  /** The MessagePack codec of clone links (throws before the server started). */
  readonly codec: Codec;
  /** True while the server runs. */
  running(): boolean;
  /** This clone's record changed: an update is due. */
  scheduleFlush(): void;
  /** Where dialed links report. */
  readonly dialEvents: DialEvents;
}

/** Builds the units of one server's clone mesh. */
export function buildCloneUnits(host: CloneHost, control: CloneUnitsControl): CloneUnits {
  const linkTable = new LinkTable((error) => host.reportError(error));
  const links = linkTable.live;
  // Units built further down are reached through closures, called only after this returns.
  const cap = new CloneCap({
    get max() {
      return host.cloneOptions.maxClones;
    },
    // Neither can a peer make up: a live link passed admission, `addClone` is the user's.
    preferred: (id): boolean => links.has(id) || table.clones.get(id)?.explicit === true,
    warn: (message, fields) => host.logWarning(message, fields),
  });
  const table = new CloneTable(
    host.id,
    (id) => dialers.drop(id),
    () => host.nodesChanged(),
    cap,
  );
  const isForgotten = (id: string): boolean => table.isDeleted(id);
  const groupEvents = new CloneGroupsObserver({
    publish: (message) => {
      if (control.running()) relay.publish(message);
    },
    deleteGroup: (groupId) => {
      if (control.running()) relay.deleteGroup(groupId);
    },
    interestChanged: () => control.scheduleFlush(),
  });
  const gossip = new CloneGossip({
    selfId: host.id,
    instance: control.instance,
    get url() {
      return host.url ?? null;
    },
    interest: groupEvents,
    links: () => links.keys(),
    maxPayload: (peer) =>
      links.get(peer)?.connection.peerMaxPayload ?? host.cloneOptions.maxPayload,
    isForgotten,
    cap,
    named: table.clones,
  });
  const routes = new RouteTable(
    host.id,
    () => links.keys(),
    () => gossip.known(),
  );
  const waits = new ClusterWaits({
    selfId: host.id,
    links,
    routes,
    get timeout() {
      return host.cloneOptions.clusterAckTimeout;
    },
    get presenceTable() {
      return host.groups.presenceTable;
    },
    records: () => gossip.known(),
    record: (id) => gossip.record(id),
    isForgotten,
    ownVersion: () => gossip.version,
    interestPending: () => groupEvents.pending > 0,
  });
  const relay = new CloneRelay({
    selfId: host.id,
    instance: control.instance,
    links,
    routes,
    records: () => gossip.known(),
    deliver: (message) => host.deliver(message),
    groupDeleted: (groupId) => host.groupDeleted(groupId),
    delivered: (ackTo, seq, count) => waits.delivered(ackTo, seq, count),
  });
  const history = new CloneHistory({
    links,
    groups: host.groups,
    get interest() {
      return groupEvents.groups;
    },
    get codec() {
      return control.codec;
    },
    reportError: (error) => host.reportError(error),
  });
  const dialers = new CloneDialers(
    host,
    {
      instance: control.instance,
      get codec() {
        return control.codec;
      },
      running: () => control.running(),
      isKnown: (id) => table.clones.has(id),
      isLinked: (id) => links.has(id),
      isForgotten,
    },
    control.dialEvents,
  );
  return { cap, table, linkTable, groupEvents, gossip, routes, relay, waits, history, dialers };
}
