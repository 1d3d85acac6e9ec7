/**
 * The argument of a curve loader: the trial's port(s) and the counts of one point of the
 * curve, checked on arrival.
 * @module
 */
import { isContender, type ContenderName } from './contenders.js';

/** A curve loader's argument: named non-negative counts, plus where the server listens. */
export type CurveArgument<K extends string> = Record<K, number> & {
  contender: ContenderName;
  port: number;
  ports: number[];
};

/** Checks the argument of a curve loader that needs the counts `keys`. */
export function parseCurveArgument<K extends string>(
  value: unknown,
  keys: readonly K[],
): CurveArgument<K> {
  const record =
    typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
  const counts = [...keys, 'port'].every((key) => {
    const count = record[key];
    return typeof count === 'number' && Number.isFinite(count) && count >= 0;
  });
  if (!counts || !isContender(record.contender) || !Array.isArray(record.ports)) {
    throw new Error(`Bad curve loader argument: ${JSON.stringify(value)}`);
  }
  return record as CurveArgument<K>;
}
