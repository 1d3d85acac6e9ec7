/**
 * Counts and limits of each scenario (full and `--quick`), and the argument each load
 * generator receives, with its guard.
 * @module
 */
import { isContender, type ContenderName } from './contenders.js';

/** S1: request/response over one connection. */
export interface S1Config {
  /** Calls made (sequential, then pipelined) before anything is measured. */
  warmupCalls: number;
  /** Calls made one at a time. */
  sequentialCalls: number;
  /** Calls made with `inFlight` outstanding. */
  pipelinedCalls: number;
  /** Outstanding calls in the pipelined phase. */
  inFlight: number;
}

/** S2: fan-out from one publisher to many subscribers of one server. */
export interface S2Config {
  /** Subscriber connections (all in one load process). */
  subscribers: number;
  /** Messages published and fully delivered before the measured ones. */
  warmupMessages: number;
  /** Messages measured. */
  messages: number;
  /** Messages published back to back before checking progress. */
  burst: number;
  /** Most messages published but not yet delivered to every subscriber. */
  window: number;
  /** Size of one message's JSON data, bytes. */
  payloadBytes: number;
  /** Deliveries stopping for this long ends the phase (the rest counts as lost). */
  stallMs: number;
}

/** S1 counts. */
export function s1Config(quick: boolean): S1Config {
  return quick
    ? { warmupCalls: 1_000, sequentialCalls: 2_000, pipelinedCalls: 20_000, inFlight: 100 }
    : { warmupCalls: 10_000, sequentialCalls: 20_000, pipelinedCalls: 200_000, inFlight: 100 };
}

/** S2 counts. */
export function s2Config(quick: boolean): S2Config {
  return quick
    ? {
        subscribers: 100,
        warmupMessages: 50,
        messages: 300,
        burst: 20,
        window: 100,
        payloadBytes: 100,
        stallMs: 2_000,
      }
    : {
        subscribers: 500,
        warmupMessages: 200,
        messages: 2_000,
        burst: 20,
        window: 100,
        payloadBytes: 100,
        stallMs: 3_000,
      };
}

/** What a load generator is told: which contender, where, and its counts. */
export type LoadArgument<C> = C & { contender: ContenderName; port: number };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function hasCounts(value: Record<string, unknown>, keys: readonly string[]): boolean {
  return keys.every((key) => {
    const count = value[key];
    return typeof count === 'number' && Number.isInteger(count) && count >= 0;
  });
}

function checkLoadArgument<C>(
  value: unknown,
  keys: readonly (keyof C & string)[],
): LoadArgument<C> {
  if (!isRecord(value) || !isContender(value.contender) || !hasCounts(value, ['port', ...keys])) {
    throw new Error(`Bad load generator argument: ${JSON.stringify(value)}`);
  }
  return value as LoadArgument<C>;
}

/** Checks the argument of the S1 load generator. */
export function parseS1Argument(value: unknown): LoadArgument<S1Config> {
  return checkLoadArgument<S1Config>(value, [
    'warmupCalls',
    'sequentialCalls',
    'pipelinedCalls',
    'inFlight',
  ]);
}

/** Checks the argument of the S2 load generator. */
export function parseS2Argument(value: unknown): LoadArgument<S2Config> {
  return checkLoadArgument<S2Config>(value, [
    'subscribers',
    'warmupMessages',
    'messages',
    'burst',
    'window',
    'payloadBytes',
    'stallMs',
  ]);
}
