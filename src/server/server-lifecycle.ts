/**
 * Starting and stopping a server, in order: the backplane connects before the endpoint
 * listens (a node that cannot reach its cluster accepts no clients), and on stop the
 * backplane leaves before sockets close, so the other nodes hear of it from the node itself.
 * @module
 */
import type { ServerBackplane } from '../backplane/server-backplane.js';
import type { LinkManager } from '../cluster/link-manager.js';
import type { GroupManager } from '../groups/group-manager.js';
import type { ServerLog } from '../ops/logger.js';
import { loadCodec } from '../protocol/codecs.js';
import type { ServerEndpoint } from './endpoint.js';
import type { ServerConnection } from './server-connection.js';
import type { StartOptions } from './server-types.js';

/** The server as its lifecycle reads and sets it. */
export interface LifecycleHost {
  readonly id: string;
  /** Set true once started, false when stopping. */
  active: boolean;
  readonly path: string;
  readonly port: number | undefined;
  readonly groups: GroupManager<ServerConnection>;
  reportError(error: unknown): void;
}

/** The parts a server starts and stops. */
export interface LifecycleParts {
  readonly backplane: ServerBackplane;
  readonly endpoint: ServerEndpoint;
  readonly links: LinkManager;
  readonly sockets: { readonly open: boolean; closeAll(): Promise<void> };
  readonly logger: ServerLog;
  /** Emits `start` or `stop` on the server. */
  emit(event: 'start' | 'stop'): void;
}

/** Starts and stops one server. */
export class ServerLifecycle {
  private starting: Promise<void> | undefined;
  private historySweep: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: LifecycleHost,
    private readonly parts: LifecycleParts,
  ) {}

  /** Starts listening (own port) or attaches to the given http/https server. */
  start(startOptions: StartOptions): Promise<void> {
    if (this.host.active) return Promise.resolve();
    this.starting ??= this.doStart(startOptions).finally(() => {
      this.starting = undefined;
    });
    return this.starting;
  }

  /** Closes every connection (code 1001), stops listening and clears timers. */
  async stop(): Promise<void> {
    const { host, parts } = this;
    if (this.starting !== undefined) await this.starting.catch(() => undefined);
    if (!host.active) return;
    host.active = false;
    clearInterval(this.historySweep);
    await parts.backplane.stop().catch((error: unknown) => host.reportError(error));
    parts.links.stop();
    parts.endpoint.detach();
    await parts.sockets.closeAll();
    await parts.endpoint.close();
    parts.logger.info(`stopped ${host.id}`);
    parts.emit('stop');
  }

  private async doStart(startOptions: StartOptions): Promise<void> {
    const { host, parts } = this;
    const msgpack = await loadCodec('msgpack');
    host.groups.history.codec = msgpack;
    // The backplane connects first: a node that cannot reach it does not accept clients.
    await parts.backplane.start(msgpack);
    try {
      await parts.endpoint.open(startOptions);
    } catch (error) {
      await parts.backplane.stop();
      throw error;
    }
    host.active = true;
    this.historySweep = setInterval(() => host.groups.history.sweep(), 10_000);
    this.historySweep.unref();
    parts.links.start();
    parts.logger.info(`started ${host.id} on port ${String(host.port)} path ${host.path}`);
    const { address } = parts.endpoint;
    if (parts.sockets.open && address !== undefined && !isLoopback(address)) {
      parts.logger.warn(
        `${host.id} listens on ${address} with no security option: any process that reaches ` +
          'it can join the mesh as a clone or server link (set authFnIn or serverSecret)',
      );
    }
    parts.emit('start');
  }
}

/** True for an address only this machine can reach. */
function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.') || address === '::ffff:127.0.0.1';
}
