/**
 * `server.createServerProxy`: dials another server for one namespace and keeps redialing.
 * The first open link settles the promise; a wrong secret rejects it and stops dialing;
 * `timeout` rejects it while dialing goes on.
 * @module
 */
import { InvalidArgumentError, NotConnectedError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import type { Frame } from '../protocol/frames.js';
import { proxyUrl, type RpcEndpointOptions } from '../rpc/endpoint.js';
import { DEFAULT_NAMESPACE } from '../rpc/registry.js';
import type { Connection } from '../transport/connection.js';
import type { TlsOptions } from '../transport/dialer.js';
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { PeerDialer } from './peer-dialer.js';
import { ServerLink } from './server-link.js';

/** Options of `server.createServerProxy`: `url`, or `host` + `port` (+ `path`). */
export type ServerProxyOptions = RpcEndpointOptions & {
  /** Encrypt every frame of the link (AES-256-GCM keyed from the secret). Needs `serverSecret`. */
  encryption?: boolean;
  /** ms to wait for the first connection before the promise rejects (dialing goes on). Default 10000. */
  timeout?: number;
};

/** What dialing a server link reads from the server. */
export interface ProxyDialHost {
  readonly id: string;
  readonly linkOptions: {
    serverSecret: string | undefined;
    maxPayload: number;
    maxBufferedBytes: number;
    tls: TlsOptions | undefined;
  };
  loadLinkCodec(): Promise<Codec>;
  reportError(error: unknown): void;
}

/** Where the dialed links report. */
export interface ProxyLinkEvents {
  /** The dialers of the server: the new one joins, and leaves when it gives up. */
  readonly dialers: Set<PeerDialer>;
  opened(link: ServerLink): void;
  frame(connection: Connection, frame: Frame): void;
  closed(connection: Connection): void;
}

/** Dials a server link; resolves once the link is first up. */
export async function dialServerProxy(
  host: ProxyDialHost,
  options: ServerProxyOptions,
  events: ProxyLinkEvents,
): Promise<void> {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('createServerProxy takes an options object');
  }
  const url = proxyUrl(options);
  const namespace = options.namespace ?? DEFAULT_NAMESPACE;
  const secret = options.serverSecret ?? host.linkOptions.serverSecret;
  if (options.encryption === true && secret === undefined) {
    throw new InvalidArgumentError('createServerProxy: encryption needs a serverSecret');
  }
  const codec = await host.loadLinkCodec();
  let settle: { resolve: () => void; reject: (error: Error) => void } | undefined;
  const firstOpen = new Promise<void>((resolve, reject) => {
    settle = { resolve, reject };
  });
  const dialer: PeerDialer = new PeerDialer({
    role: 'link',
    selfId: host.id,
    codec,
    maxPayload: host.linkOptions.maxPayload,
    maxBufferedBytes: host.linkOptions.maxBufferedBytes,
    tls: options.tls ?? host.linkOptions.tls,
    retryBase: 1000,
    url: () => url,
    handshake: () => ({
      id: host.id,
      kind: 'link',
      namespace,
      maxPayload: host.linkOptions.maxPayload,
      secret,
      encryption: options.encryption === true,
      cipherFactory: nodeCipherFactory,
    }),
    accept: (welcome) =>
      welcome.serverId === host.id
        ? new InvalidArgumentError('createServerProxy: a server cannot link to itself')
        : undefined,
    opened: (connection, welcome) => {
      events.opened(new ServerLink(welcome.serverId, namespace, connection, 'out'));
      settle?.resolve();
      settle = undefined;
    },
    frame: (connection, frame) => events.frame(connection, frame),
    closed: (connection) => events.closed(connection),
    failed: (error, authRefused) => {
      if (authRefused) {
        // A wrong secret will not fix itself: report it and stop dialing.
        settle?.reject(error);
        settle = undefined;
        dialer.stop();
        events.dialers.delete(dialer);
      }
      host.reportError(error);
    },
  });
  events.dialers.add(dialer);
  dialer.start();
  const timeout = options.timeout ?? 10_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new NotConnectedError(`No link to ${url} within ${timeout} ms (still trying)`)),
      timeout,
    );
  });
  try {
    await Promise.race([firstOpen, timedOut]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
