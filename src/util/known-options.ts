/**
 * Refusing options nobody reads: an option with a typo, or one that another library (or the
 * clone library) had and wsmesh does not, would otherwise be ignored without a word.
 * @module
 */
import { InvalidOptionError } from '../errors.js';

/**
 * Every key of an options type, as an object. Listing them through this type makes a new
 * option that is not listed a compile error, so the list cannot fall behind the type.
 */
export type OptionKeys<T> = { readonly [K in keyof Required<T>]: true };

/** Levenshtein distance, for "did you mean" (keys are short). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1]?.toLowerCase() === b[j - 1]?.toLowerCase() ? 0 : 1;
      current[j] = Math.min(
        (previous[j] ?? 0) + 1,
        (current[j - 1] ?? 0) + 1,
        (previous[j - 1] ?? 0) + cost,
      );
    }
    previous = current;
  }
  return previous[b.length] ?? 0;
}

function closest(key: string, known: object): string | undefined {
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(key.length / 4)) + 1;
  for (const candidate of Object.keys(known)) {
    const d = distance(key, candidate);
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best;
}

/**
 * Throws {@link InvalidOptionError} for the first own key of `options` that `known` does not
 * list, with `hints[key]` or the closest known name. `where` names the call, e.g.
 * `new Client()`.
 */
export function refuseUnknownOptions(
  options: object,
  known: object,
  where: string,
  hints?: Readonly<Record<string, string>>,
): void {
  // for-in allocates nothing: this runs for every `sendMes`.
  for (const key in options) {
    if (!Object.hasOwn(options, key) || Object.hasOwn(known, key)) continue;
    const hint = hints !== undefined && Object.hasOwn(hints, key) ? hints[key] : undefined;
    const suggestion = hint === undefined ? closest(key, known) : undefined;
    const advice =
      hint !== undefined
        ? `: ${hint}`
        : suggestion === undefined
          ? ''
          : ` (did you mean "${suggestion}"?)`;
    throw new InvalidOptionError(`${where}: unknown option "${key}"${advice}`, { option: key });
  }
}
