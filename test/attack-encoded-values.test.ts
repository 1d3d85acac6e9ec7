/**
 * A server link that answers with MessagePack a forwarding server passes on as bytes
 * (docs/rpc.md, "Through a cluster"): A's functions stand in for a rogue or broken peer by
 * handing its link crafted bytes as they are. B forwards to A; a raw MessagePack client on B
 * must never be sent a frame it cannot decode: what B would refuse to decode it must not pass
 * on.
 */
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { loadCodec } from '../src/protocol/codecs.js';
import { EncodedValue } from '../src/protocol/encoded-value.js';
import { FrameType } from '../src/protocol/frames.js';
import { forwardingPair } from './forwarding-pair.js';
import { Cleanup, isFrame, type RawPeer } from './helpers.js';

const NS = 'enc';
const msgpack = await loadCodec('msgpack');

/** 1 inside `depth` one-element arrays: plain MessagePack that msgpackr cannot decode. */
function deepBytes(depth: number): Uint8Array {
  const bytes = new Uint8Array(depth + 1).fill(0x91);
  bytes[depth] = 1;
  return bytes;
}

function ping(): string {
  return 'pong';
}

function deep(): EncodedValue {
  return new EncodedValue(msgpack, deepBytes(20_000));
}

// eslint-disable-next-line require-yield -- only its return value matters
function* deepEnd(): Generator<number, EncodedValue> {
  return new EncodedValue(msgpack, deepBytes(20_000));
}

function undecodable(frame: unknown): boolean {
  return typeof frame === 'object' && frame !== null && 'undecodable' in frame;
}

describe('encoded values from a server link', () => {
  const cleanup = new Cleanup();
  let peer: RawPeer;
  let linked: () => Promise<void>;

  before(async () => {
    const pair = await forwardingPair(
      NS,
      (s) => {
        s.origin(ping, { namespace: NS });
        s.origin(deep, { namespace: NS });
        s.origin(deepEnd, { namespace: NS });
      },
      cleanup,
    );
    ({ peer } = pair);
    linked = () => pair.linked();
  });
  after(() => cleanup.run());

  test('a reply nested too deep to decode fails the call at B; the client gets an ERROR', async () => {
    await linked();
    const id = peer.allocateId();
    peer.send([FrameType.RPC_CALL, id, NS, 'deep', []]);
    const answer = await peer.waitForFrame(
      (f) => isFrame(f, FrameType.ERROR, id) || undecodable(f),
    );
    assert.ok(!undecodable(answer), 'B passed on a reply its client cannot decode');
    assert.ok(peer.open);
  });

  test('a stream end nested too deep to decode fails the stream at B', async () => {
    await linked();
    const id = peer.allocateId();
    peer.send([FrameType.RPC_STREAM, id, NS, 'deepEnd', [], 4]);
    const answer = await peer.waitForFrame(
      (f) =>
        isFrame(f, FrameType.RPC_STREAM_ERROR, id) ||
        isFrame(f, FrameType.RPC_END, id) ||
        undecodable(f),
    );
    assert.ok(!undecodable(answer), 'B passed on a stream end its client cannot decode');
    assert.ok(isFrame(answer, FrameType.RPC_STREAM_ERROR, id));
    assert.ok(peer.open);
  });
});
