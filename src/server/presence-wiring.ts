/**
 * Gives a server's groups their presence table: the server's options, and local changes
 * handed to the cluster layer (the clone mesh or the backplane).
 * @module
 */
import type { GroupManager } from '../groups/group-manager.js';
import { PresenceTable } from '../groups/presence-table.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** Sets up presence on `groups` from `server`'s options. */
export function attachPresence(server: ServerCore, groups: GroupManager<ServerConnection>): void {
  const { presence, clusterAckTimeout } = server.options;
  groups.presenceByDefault = presence.allGroups;
  groups.presenceTimeout = clusterAckTimeout;
  groups.presenceTable = new PresenceTable({
    selfId: server.id,
    maxMembers: presence.maxMembers,
    hasInterest: (groupId) => (groups.get({ id: groupId })?.subscribers.size ?? 0) > 0,
    localChanged: (groupId, joins, leaves) =>
      groups.observer?.presenceChanged?.(groupId, joins, leaves),
    reportError: (error) => server.reportError(error),
  });
}
