/**
 * The text `wsmesh inspect` prints: a node's view of its cluster (clones, links, server links,
 * groups, functions and where they run), from the dashboard's state JSON.
 * @module
 */
import type { ClusterState } from '../ops/cluster-state.js';

function ms(value: number | null | undefined): string {
  return value === null || value === undefined ? '' : ` ${value.toFixed(1)} ms`;
}

function uptime(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const hours = Math.floor(total / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const seconds = total % 60;
  return `${hours > 0 ? `${hours}h ` : ''}${hours > 0 || minutes > 0 ? `${minutes}m ` : ''}${seconds}s`;
}

/** The backplane's state: engine, link, traffic; the clone mesh has none. */
function backplaneLines(backplane: ClusterState['stats']['backplane']): string[] {
  if (backplane === null) return [];
  return [
    `backplane: ${backplane.kind} ${backplane.status}${backplane.server === null ? '' : ` to ${backplane.server}`}`,
    `  groups ${backplane.groups} · messages out ${backplane.messagesOut} / in ${backplane.messagesIn} · calls out ${backplane.callsOut} / in ${backplane.callsIn}`,
  ];
}

/** Lines describing `state`. */
export function formatClusterState(state: ClusterState): string[] {
  const { node, stats } = state;
  const lines: string[] = [];
  lines.push(
    `node ${node.id}${node.url === null ? '' : `  ${node.url}`}  (pid ${node.pid}, up ${uptime(node.now - node.startedAt)})`,
  );
  lines.push(
    `clients ${stats.clients} · sockets ${stats.sockets} · groups ${stats.groups} · messages in ${stats.messagesIn} · publishes ${stats.publishes} · deliveries ${stats.deliveries} · RPC calls ${stats.rpc.calls} (${stats.rpc.errors} errors)`,
  );
  lines.push('');
  lines.push(...backplaneLines(stats.backplane));
  lines.push(`clones: ${stats.clones.known} known, ${stats.clones.linked} linked`);
  if (stats.clones.peers.length === 0) lines.push('  (none)');
  for (const peer of stats.clones.peers) {
    lines.push(
      `  ${peer.id}  ${peer.state}  ${peer.url ?? '(no url)'}${ms(peer.latencyMs)}  relay out ${peer.relayFramesOut} / in ${peer.relayFramesIn}`,
    );
  }
  lines.push('');
  lines.push('graph:');
  if (state.graph.edges.length === 0) lines.push('  (no links)');
  for (const edge of state.graph.edges) {
    const what =
      edge.kind === 'clone'
        ? 'clone link'
        : edge.kind === 'backplane'
          ? `through the ${stats.backplane?.kind ?? ''} backplane`
          : `server link ${edge.namespace ?? ''}`;
    lines.push(`  ${edge.from} -- ${edge.to}  (${what}${ms(edge.latencyMs)})`);
  }
  lines.push('');
  lines.push('server links:');
  if (state.serverLinks.length === 0) lines.push('  (none)');
  for (const link of state.serverLinks) {
    lines.push(
      `  ${link.peerId}  ${link.namespace}  ${link.direction}  routes ${link.routes}  in flight ${link.inFlight}${ms(link.latencyMs)}`,
    );
  }
  lines.push('');
  lines.push('groups:');
  if (state.groups.length === 0) lines.push('  (none)');
  for (const group of state.groups) {
    lines.push(
      `  ${group.id}  ${group.subscribers} here` +
        (group.clones.length === 0 ? '' : `  subscribers on: ${group.clones.join(', ')}`),
    );
  }
  if (state.groupsOmitted > 0) lines.push(`  ... and ${state.groupsOmitted} more`);
  lines.push('');
  lines.push('functions:');
  let functions = 0;
  for (const namespace of state.namespaces) {
    for (const fn of namespace.functions) {
      functions++;
      const places = fn.places
        .map((place) =>
          place.local ? 'local' : `via ${place.via ?? '?'} (${(place.path ?? []).join(' -> ')})`,
        )
        .join('; ');
      lines.push(`  ${namespace.name}.${fn.name}  ${fn.kind}  ${places}`);
    }
  }
  if (functions === 0) lines.push('  (none)');
  return lines;
}
