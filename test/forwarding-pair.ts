/**
 * Two servers for attacks on RPC forwarding: A holds the functions of one namespace, B links
 * to A with a server proxy, and a raw MessagePack client on B sends what an outsider would.
 */
import type { Server } from '../src/index.js';
import { FrameType } from '../src/protocol/frames.js';
import {
  connectRaw,
  isFrame,
  startServer,
  waitFor,
  type Cleanup,
  type RawPeer,
} from './helpers.js';

/** A started pair; everything is stopped by the cleanup it was given. */
export interface ForwardingPair {
  a: Server;
  b: Server;
  /** The raw client on B. */
  peer: RawPeer;
  /**
   * Waits until a call to `ping` through B answers (B knows A's functions; after a refused
   * link, B dialed again). A must have a `ping` function in the namespace.
   */
  linked(timeoutMs?: number): Promise<void>;
}

/** Starts A (with `setupA` adding its functions), B linked to A for `namespace`, the raw peer. */
export async function forwardingPair(
  namespace: string,
  setupA: (server: Server) => void,
  cleanup: Cleanup,
): Promise<ForwardingPair> {
  const { server: a } = await startServer({ id: 'A' }, setupA);
  cleanup.add(() => a.stop());
  const { server: b } = await startServer({ id: 'B' });
  cleanup.add(() => b.stop());
  await b.createServerProxy({ host: '127.0.0.1', port: a.port as number, namespace });
  const peer = await connectRaw(`ws://127.0.0.1:${b.port as number}${b.path}`, {
    codec: 'msgpack',
  });
  cleanup.add(() => peer.terminate());
  const linked = (timeoutMs = 10_000): Promise<void> =>
    waitFor(
      async () => {
        // Ids far above those the tests pick themselves.
        const id = peer.allocateId() + 10_000;
        peer.send([FrameType.RPC_CALL, id, namespace, 'ping', []]);
        const answer = await peer.waitForFrame(
          (f) => isFrame(f, FrameType.REPLY, id) || isFrame(f, FrameType.ERROR, id),
        );
        return isFrame(answer, FrameType.REPLY);
      },
      timeoutMs,
      'B forwards to A',
    ).then(() => undefined);
  return { a, b, peer, linked };
}
