/**
 * A raw peer for batch and pack tests: it says in HELLO whether it reads batches and packs,
 * and records the frames of every WebSocket message it gets, batches split.
 */
import { FrameType, PROTOCOL_VERSION } from '../src/protocol/frames.js';
import { connectRaw, isFrame, rawPackr, waitFor, type RawCodec, type RawPeer } from './helpers.js';

/** A raw client that records every frame of every WebSocket message, batches split. */
export interface PackPeer {
  raw: RawPeer;
  welcome: Record<string, unknown>;
  /** The frames of each message received, in order. */
  messages: unknown[][];
  subscribe(groupId: string): Promise<void>;
}

let peers = 0;

export async function packPeer(
  url: string,
  hello: { batch?: boolean; pack?: boolean; maxPayload?: number },
  codec: RawCodec = 'json',
): Promise<PackPeer> {
  const raw = await connectRaw(url, { codec, hello: false });
  const messages: unknown[][] = [];
  raw.ws.on('message', (data: Buffer) => {
    messages.push(
      codec === 'json'
        ? data
            .toString('utf8')
            .split('\n')
            .map((line) => JSON.parse(line) as unknown)
        : (rawPackr.unpackMultiple(data) as unknown[]),
    );
  });
  const frames = (): unknown[] => messages.flat();
  peers++;
  raw.send([FrameType.HELLO, { v: PROTOCOL_VERSION, id: `pack-${peers}`, ...hello }]);
  const welcome = await waitFor(() => frames().find((f) => isFrame(f, FrameType.WELCOME)));
  let nextId = 1;
  return {
    raw,
    welcome: (welcome as [number, Record<string, unknown>])[1],
    messages,
    async subscribe(groupId) {
      const id = nextId++;
      raw.send([FrameType.SUBSCRIBE, id, groupId]);
      await waitFor(() => frames().some((f) => isFrame(f, FrameType.REPLY, id)));
      await waitFor(() => frames().some((f) => isFrame(f, FrameType.MEMBERSHIP)));
    },
  };
}

/** The frames of the messages received from index `from` on, once `count` of them came. */
export async function framesAfter(peer: PackPeer, from: number, count = 1): Promise<unknown[]> {
  await waitFor(() => peer.messages.length >= from + count, 5000, `${count} messages`);
  return peer.messages.slice(from).flat();
}
