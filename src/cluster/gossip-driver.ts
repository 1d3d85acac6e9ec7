/**
 * Carries the gossip's decisions out and sets their pace: actions from clone-gossip.ts become
 * frames on links, table changes and dials; record changes made during one tick go out as one
 * update; reachability changes reach the cluster waits once per tick; the periodic tick
 * refreshes clone states, forgets the clones the dial policy gives up on and sweeps old
 * relay and page state.
 * @module
 */
import { ErrorCode, WsMeshError } from '../errors.js';
import type { CloneHost } from './clone-host.js';
import type { GossipAction } from './clone-gossip.js';
import type { CloneLink } from './clone-link.js';
import type { CloneUnits } from './clone-units.js';

/** Relay sequence windows of origins silent this long are dropped. */
const RELAY_FORGET_MS = 10 * 60_000;

/** Runs the gossip of one server's clone mesh. */
export class GossipDriver {
  private flushScheduled = false;
  private topologyScheduled = false;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly host: CloneHost,
    private readonly units: CloneUnits,
    private readonly running: () => boolean,
  ) {}

  /** Starts the periodic exchange. */
  start(): void {
    this.timer = setInterval(() => this.tick(), this.host.cloneOptions.cloneInterval);
    this.timer.unref();
  }

  /** Stops the periodic exchange. */
  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /**
   * Carries out the gossip's actions in order. Frames for the peer of `from` go on `from`,
   * the link the frame being answered came on.
   */
  run(actions: readonly GossipAction[], from?: CloneLink): void {
    const { table, dialers, routes, waits, linkTable } = this.units;
    for (const action of actions) {
      switch (action.type) {
        case 'send': {
          const link = from?.peerId === action.to ? from : linkTable.live.get(action.to);
          if (link === undefined) break;
          // Pages after one that was not sent are useless alone.
          for (const frame of action.frames) if (!link.send(frame)) break;
          break;
        }
        case 'learn':
          // A clone past `maxClones` is not kept: nor is a record of it.
          if (table.learn(action.id, action.url, action.from) === undefined) {
            this.units.gossip.forget(action.id);
          }
          break;
        case 'gone':
          if (table.left(action.id)) dialers.drop(action.id);
          break;
        case 'duplicate':
          this.duplicateId(action.id, action.why);
          break;
        case 'changed':
          routes.invalidate();
          this.ensureDialers();
          this.scheduleTopology();
          break;
        case 'applied':
          routes.invalidate();
          waits.recordApplied(action.id, action.v, action.groups, action.renewed);
          break;
      }
    }
  }

  /** Batches changes of this clone's record made during one tick into one update. */
  scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(() => this.flush());
  }

  /** Reachability changed: waits and presence follow, once per tick. */
  scheduleTopology(): void {
    if (this.topologyScheduled) return;
    this.topologyScheduled = true;
    process.nextTick(() => {
      this.topologyScheduled = false;
      if (!this.running()) return;
      this.units.waits.topologyChanged();
    });
  }

  /** Starts a dialer for every clone the dial policy says to dial. */
  ensureDialers(): void {
    this.units.dialers.ensure(this.units.table.clones.values());
  }

  /** Reports `ERR_DUPLICATE_ID` for clone `id`. */
  duplicateId(id: string, why: string): void {
    this.host.reportError(
      new WsMeshError(ErrorCode.DUPLICATE_ID, `Duplicate clone id "${id}": ${why}`, { id }),
    );
  }

  private flush(): void {
    this.flushScheduled = false;
    const actions = this.units.gossip.flush();
    if (this.running()) this.run(actions);
  }

  private tick(): void {
    const { gossip, table, routes, dialers, relay, linkTable } = this.units;
    this.run(gossip.tick());
    const now = Date.now();
    for (const clone of table.clones.values()) {
      clone.refresh(linkTable.live.has(clone.id), routes.hop(clone.id) !== undefined, now);
      if (!dialers.forgettable(clone, now)) continue;
      table.forget(clone.id);
      gossip.forget(clone.id);
      dialers.drop(clone.id);
    }
    this.ensureDialers();
    relay.sweep(now - RELAY_FORGET_MS);
    // Pages arrive back to back; a record whose pages stopped coming is fetched again by digests.
    gossip.sweep(now - Math.max(10_000, 5 * this.host.cloneOptions.cloneInterval));
  }
}
