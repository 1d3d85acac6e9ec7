/**
 * `wsmesh/nats`: run a wsmesh cluster over NATS.
 *
 * ```ts
 * import { Server } from 'wsmesh';
 * import { natsBackplane } from 'wsmesh/nats';
 * const server = new Server({ backplane: natsBackplane({ servers: 'nats://127.0.0.1:4222' }) });
 * ```
 *
 * Needs `@nats-io/transport-node` (an optional peer dependency of wsmesh), loaded when the
 * server starts.
 * @module
 */
import type { Backplane } from './backplane/backplane.js';
import { NatsBackplane } from './nats/nats-backplane.js';
import { resolveNatsOptions, type NatsBackplaneOptions } from './nats/options.js';

export type { NatsBackplaneOptions, NatsTlsOptions } from './nats/options.js';
export { NATS_DEFAULTS } from './nats/options.js';
export type {
  Backplane,
  BackplaneHost,
  BackplaneMessage,
  BackplaneNode,
  BackplaneState,
  BackplaneDeliveries,
} from './backplane/backplane.js';
export { PresenceTable } from './groups/presence-table.js';
export type { PresenceEntry, PresenceListener, PresenceMember } from './groups/presence-table.js';

/**
 * A NATS backplane for one server: `new Server({ backplane: natsBackplane({ servers }) })`.
 * Servers with the same `prefix` on one NATS cluster form one wsmesh cluster. Options are
 * checked now; throws `InvalidOptionError`.
 */
export function natsBackplane(options: NatsBackplaneOptions): Backplane {
  return new NatsBackplane(resolveNatsOptions(options));
}
