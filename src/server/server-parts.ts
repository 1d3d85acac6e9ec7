/**
 * The parts of a server that reach beyond its own sockets, built and wired to each other:
 * server links, the backplane (the clone mesh by default, else the `backplane` option), the
 * resumes and presence that ride it, RPC resolution and serving.
 * @module
 */
import { ServerBackplane, type ServerBackplaneHost } from '../backplane/server-backplane.js';
import type { CloneManager } from '../cluster/clone-manager.js';
import { LinkManager, type LinkHost } from '../cluster/link-manager.js';
import { MeshBackplane, type MeshHost } from '../cluster/mesh-backplane.js';
import { ResumeCoordinator } from '../groups/resume.js';
import { RpcResponder, type FunctionResolver } from '../rpc/rpc-responder.js';
import { attachPresence } from './presence-wiring.js';
import { ServerFunctions } from './server-functions.js';
import type { ServerCore } from './server-types.js';

/** What the parts read from their server. */
export type ServerPartsHost = ServerCore & LinkHost & MeshHost & ServerBackplaneHost;

/** The parts of one server. */
export interface ServerParts {
  readonly linkManager: LinkManager;
  readonly clones: CloneManager;
  readonly backplane: ServerBackplane;
  readonly resumes: ResumeCoordinator;
  readonly functions: ServerFunctions;
  readonly resolver: FunctionResolver;
  readonly responder: RpcResponder;
}

/**
 * Builds the parts of `server`. The server's `registry`, `groups` and `options` must be set;
 * the parts read the rest (`responder`, `clones`...) only once the server holds them.
 */
export function buildServerParts(server: ServerPartsHost): ServerParts {
  const { options, groups, registry } = server;
  // The link manager only reads options when it is made; the resolver asks it for routes.
  const linkManager = new LinkManager(server);
  // Every server has the mesh's API (`server.clones`); the mesh runs only as the default.
  const mesh = new MeshBackplane(server, linkManager);
  const clones = mesh.clones;
  // Another backplane's nodes are mirrored into `clones.clones`, which the mesh owns itself.
  const mirror = options.backplane === undefined ? undefined : clones.clones;
  const backplane = new ServerBackplane(options.backplane ?? mesh, server, mirror);
  groups.observer = backplane;
  // History between nodes rides the backplane: the mesh's clone links, NATS requests.
  const cluster = backplane.backplane;
  const resumes = new ResumeCoordinator(groups.history, () => cluster.history);
  attachPresence(server, groups);
  groups.routeCounters = server.routeCounters;
  groups.listenerError = (error) => server.reportError(error);
  const functions = new ServerFunctions(registry, linkManager, backplane.resolver);
  const resolver = functions.resolver;
  const responder = new RpcResponder(resolver, options.id, options.maxInFlight);
  return { linkManager, clones, backplane, resumes, functions, resolver, responder };
}
