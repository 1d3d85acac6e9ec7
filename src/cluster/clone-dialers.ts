/**
 * The dial policy of the clone mesh: which clones this server dials, one dialer per clone
 * (backoff and redial are its {@link CloneDialer}'s), and when a learned clone that stayed
 * out of reach is forgotten.
 *
 * One WebSocket per pair of clones is enough, so only one side dials: the clone with the
 * smaller id. A clone without `url` cannot be dialed, so it always dials; `addClone` always
 * dials, since the user asked for that link; and a clone left without a link for a while is
 * dialed from this side too (the other side may not know this one: past `maxClones` it keeps
 * no clone it only heard of). When both sides dial anyway, the link table keeps one link.
 * @module
 */
import type { Codec } from '../protocol/codec.js';
import { CloneDialer, type DialerOwner } from './clone-dialer.js';
import type { CloneHost } from './clone-host.js';
import type { RemoteClone } from './remote-clone.js';

/** What the dialers tell the clone manager: link events and dial failures. */
export type DialEvents = Pick<
  DialerOwner,
  'authValueFor' | 'linkOpened' | 'linkFrame' | 'linkClosed' | 'dialFailed'
>;

/** What the dial policy reads from the clone manager. */
export interface DialPolicyView {
  /** This server's process instance, announced in the handshake. */
  readonly instance: string;
  /** The MessagePack codec (throws before the server started). */
  readonly codec: Codec;
  /** True while the server runs. */
  running(): boolean;
  isKnown(id: string): boolean;
  isLinked(id: string): boolean;
  /** True when `deleteClone` removed the clone. */
  isForgotten(id: string): boolean;
}

/** Minimum time a learned clone stays known while unreachable. */
const MIN_FORGET_MS = 60_000;

/** `cloneInterval`s without a link after which the side with the larger id dials as well. */
const DIAL_ANYWAY_INTERVALS = 5;

/** The dialers of one server, by clone id. */
export class CloneDialers {
  private readonly dialers = new Map<string, CloneDialer>();
  private readonly owner: DialerOwner;

  constructor(
    private readonly host: CloneHost,
    private readonly view: DialPolicyView,
    events: DialEvents,
  ) {
    const options = (): CloneHost['cloneOptions'] => host.cloneOptions;
    this.owner = {
      selfId: host.id,
      instance: view.instance,
      get codec() {
        return view.codec;
      },
      get cloneInterval() {
        return options().cloneInterval;
      },
      get maxPayload() {
        return options().maxPayload;
      },
      get maxBufferedBytes() {
        return options().maxBufferedBytes;
      },
      get tls() {
        return options().tls;
      },
      get secret() {
        return options().serverSecret;
      },
      get encryption() {
        return options().encryption;
      },
      authValueFor: (clone) => events.authValueFor(clone),
      linkOpened: (link) => events.linkOpened(link),
      linkFrame: (link, frame) => events.linkFrame(link, frame),
      linkClosed: (link) => events.linkClosed(link),
      dialFailed: (clone, error, authRefused) => events.dialFailed(clone, error, authRefused),
      wantsDial: (id) => this.wants(id),
    };
  }

  /** Clones being dialed or linked through their dialer. */
  get size(): number {
    return this.dialers.size;
  }

  /** True when this server is the side that dials `clone`. */
  shouldDial(clone: RemoteClone, now = Date.now()): boolean {
    if (clone.url === null || this.view.isForgotten(clone.id)) return false;
    if (clone.explicit || this.host.url === undefined || this.host.id < clone.id) return true;
    const wait = DIAL_ANYWAY_INTERVALS * this.host.cloneOptions.cloneInterval;
    return now - clone.unlinkedSince > wait;
  }

  /** False when a dialer should give up for now: linked, unknown, forgotten or stopped. */
  wants(id: string): boolean {
    const { view } = this;
    return view.running() && !view.isLinked(id) && view.isKnown(id) && !view.isForgotten(id);
  }

  /** Starts dialing every clone this server should dial and has no link to. */
  ensure(clones: Iterable<RemoteClone>): void {
    if (!this.view.running()) return;
    for (const clone of clones) {
      if (!this.shouldDial(clone) || this.view.isLinked(clone.id)) continue;
      let dialer = this.dialers.get(clone.id);
      if (dialer === undefined) {
        dialer = new CloneDialer(this.owner, clone);
        this.dialers.set(clone.id, dialer);
      }
      if (!dialer.busy) {
        clone.dialing();
        dialer.start();
      }
    }
  }

  /**
   * Stops dialing `id` and closes the link its dialer holds. The next {@link ensure} makes a
   * new dialer, so a changed url or `authFnOut` takes effect on the next dial.
   */
  drop(id: string): void {
    this.dialers.get(id)?.stop();
    this.dialers.delete(id);
  }

  /**
   * `addClone` of a clone whose dialer waits out its backoff (the clone refused us, or was
   * down): that dialer goes, so the next {@link ensure} dials now, as `addClone` promises.
   */
  dialNow(id: string): void {
    const dialer = this.dialers.get(id);
    if (dialer !== undefined && !dialer.busy) this.drop(id);
  }

  /** {@link drop} for every clone. */
  dropAll(): void {
    for (const id of [...this.dialers.keys()]) this.drop(id);
  }

  /**
   * True when a learned clone with no path has been out of reach long enough to forget: a
   * mesh that saw many short-lived clones would otherwise keep dialing all of them.
   */
  forgettable(clone: RemoteClone, now: number): boolean {
    if (clone.explicit || clone.state === 'linked' || clone.state === 'routed') return false;
    const forgetAfter = Math.max(MIN_FORGET_MS, 30 * this.host.cloneOptions.cloneInterval);
    return now - clone.lastSeen > forgetAfter;
  }
}
