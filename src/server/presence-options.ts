/**
 * Server options of presence and cluster acknowledgements (docs/groups.md, "Presence" and
 * "Acknowledgements"), validated up front like every server option.
 * @module
 */
import { InvalidOptionError } from '../errors.js';
import { refuseUnknownOptions, type OptionKeys } from '../util/known-options.js';

/**
 * The `presence` server option.
 * @default { allGroups: false, maxMembers: 1000, maxDataBytes: 1024 }
 */
export interface PresenceOptions {
  /**
   * Every group lists presence. Off: only groups made with `groups.add({ id, presence: true })`
   * do, and `subscribe({ id, presence: true })` to another group fails with `ERR_PRESENCE_OFF`.
   * @default false
   */
  allGroups?: boolean | undefined;
  /**
   * Most members listed in one group's presence, over the whole cluster; one more
   * `subscribe({ presence: true })` fails with `ERR_LIMIT` (the cap is checked against this
   * node's view, so joins on several nodes in the same instant can pass it by a few).
   * @default 1000
   */
  maxMembers?: number | undefined;
  /** Largest `data` a member may attach, in bytes of its JSON encoding. @default 1024 */
  maxDataBytes?: number | undefined;
}

/** Resolved `presence` option. */
export interface ResolvedPresenceOptions {
  allGroups: boolean;
  maxMembers: number;
  maxDataBytes: number;
}

/** Defaults of presence and acknowledgements. */
const PRESENCE_DEFAULTS = {
  allGroups: false,
  maxMembers: 1000,
  maxDataBytes: 1024,
  clusterAckTimeout: 5000,
} as const;

const PRESENCE_KEYS: OptionKeys<PresenceOptions> = {
  allGroups: true,
  maxMembers: true,
  maxDataBytes: true,
};

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value <= 0)
    throw new InvalidOptionError(`${name} must be a positive integer`);
  return value;
}

/** Validates the `presence` option. */
export function resolvePresenceOptions(value: unknown): ResolvedPresenceOptions {
  if (value === undefined) return { ...PRESENCE_DEFAULTS };
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new InvalidOptionError('presence must be an object');
  const options = value as PresenceOptions;
  refuseUnknownOptions(options, PRESENCE_KEYS, 'presence');
  if (options.allGroups !== undefined && typeof options.allGroups !== 'boolean')
    throw new InvalidOptionError('presence.allGroups must be a boolean');
  return {
    allGroups: options.allGroups ?? PRESENCE_DEFAULTS.allGroups,
    maxMembers: positiveInteger(
      'presence.maxMembers',
      options.maxMembers,
      PRESENCE_DEFAULTS.maxMembers,
    ),
    maxDataBytes: positiveInteger(
      'presence.maxDataBytes',
      options.maxDataBytes,
      PRESENCE_DEFAULTS.maxDataBytes,
    ),
  };
}

/** Validates `clusterAckTimeout`. */
export function resolveClusterAckTimeout(value: unknown): number {
  if (value === undefined) return PRESENCE_DEFAULTS.clusterAckTimeout;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0)
    throw new InvalidOptionError('clusterAckTimeout must be a positive number of ms');
  return value;
}
