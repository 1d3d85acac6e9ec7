/**
 * A rogue clone for attack tests: a raw MessagePack connection admitted as clone `id`, which
 * answers the heartbeat and sends whatever a test makes it send.
 */
import { strict as assert } from 'node:assert';
import { FrameType } from '../src/protocol/frames.js';
import { rawHandshake } from './trust-helpers.js';
import { isFrame, rawPackr, type Cleanup, type RawPeer } from './helpers.js';

/** A raw clone `id` admitted by the server at `url`, alive to its heartbeat. */
export async function admitRogue(cleanup: Cleanup, url: string, id: string): Promise<RawPeer> {
  const { peer, welcomed } = await rawHandshake(url, {
    codec: 'msgpack',
    id,
    kind: 'clone',
    instance: `${id}-1`,
  });
  cleanup.add(() => peer.terminate());
  assert.ok(welcomed);
  peer.ws.on('message', (data: Buffer) => {
    if (isFrame(rawPackr.unpack(data), FrameType.PING)) peer.send([FrameType.PONG]);
  });
  return peer;
}

/**
 * Resolves once the server handled every frame `peer` sent before: the frames of one link are
 * handled in order, so the PONG to a PING sent now comes after them.
 */
export async function handled(peer: RawPeer, timeoutMs = 5000): Promise<void> {
  const from = peer.frames.length;
  peer.send([FrameType.PING]);
  await peer.waitForFrame((f) => isFrame(f, FrameType.PONG), { after: from, timeoutMs });
}
