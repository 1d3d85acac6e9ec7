/**
 * The server's side of a `subscribe({ id, presence: true })`: the checks made before the
 * subscription (presence on for the group, room left, data small enough) and the join itself.
 * @module
 */
import { ErrorCode, LimitError, WsMeshError } from '../errors.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { ServerConnection } from './server-connection.js';
import type { ServerCore } from './server-types.js';

/** Bytes of `data` as JSON (what a presence entry costs, roughly, on every node). */
function jsonBytes(data: unknown): number {
  try {
    return Buffer.byteLength(JSON.stringify(data ?? null) ?? 'null', 'utf8');
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

/**
 * Throws when `groupId` lists no presence (`ERR_PRESENCE_OFF`), when its presence is full or
 * `data` is larger than `presence.maxDataBytes` (`ERR_LIMIT`).
 */
export function checkPresenceData(
  server: ServerCore,
  ws: ServerConnection,
  groupId: string,
  data: unknown,
): void {
  const { groups, options } = server;
  const table = groups.presenceTable;
  if (table === undefined || !groups.presenceEnabled(groupId)) {
    throw new WsMeshError(
      ErrorCode.PRESENCE_OFF,
      `Group "${groupId}" has no presence (server option presence.allGroups, or groups.add({ id, presence: true }))`,
    );
  }
  const { maxDataBytes, maxMembers } = options.presence;
  if (jsonBytes(data) > maxDataBytes)
    throw new LimitError(`Presence data is larger than ${maxDataBytes} bytes`);
  if (table.count(groupId) >= maxMembers && !table.isLocal(groupId, ws.id)) {
    // Checked again by the join itself; this keeps a refused member out of the group.
    throw new LimitError(`The presence of group "${groupId}" is full (${maxMembers} members)`, {
      group: groupId,
      maxMembers,
    });
  }
}

/** Subscribes `ws` to `groupId` and lists it in the group's presence. */
export function joinGroup(
  groups: GroupManager<ServerConnection>,
  ws: ServerConnection,
  groupId: string,
  data: unknown,
): void {
  const added = !ws.groups.has(groupId);
  groups.addSubscriber({ id: groupId, ws });
  try {
    groups.joinPresence(groupId, ws, ws.clientId ?? ws.id, data);
  } catch (error) {
    if (added) groups.deleteSubscriber({ id: groupId, ws });
    throw error;
  }
}
