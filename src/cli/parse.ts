/**
 * Command-line parsing on top of `node:util` `parseArgs`: strict options, its errors rewritten
 * as short usage errors (exit 2) that name the flag and what to do, JSON arguments and numbers
 * checked with readable messages.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** Secrets have no flags (the process list shows flags): where each one is read from. */
const SECRET_FLAGS: Record<string, string> = {
  secret: 'WSMESH_SECRET',
  'server-secret': 'WSMESH_SECRET',
  'dashboard-token': 'WSMESH_DASHBOARD_TOKEN',
  'metrics-token': 'WSMESH_METRICS_TOKEN',
};

/** Edit distance of two short strings (for "did you mean"). */
function distance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
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

/** The message for a flag `parseArgs` refused, or undefined when its error is not known. */
export function flagMessage(error: unknown, command: string, options: Options): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  const names = Object.keys(options);
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
    const flag = /^Unknown option '([^']+)'/.exec(message)?.[1];
    if (flag === undefined) return undefined;
    const name = flag.replace(/^-+/, '').split('=')[0] ?? '';
    const env = SECRET_FLAGS[name];
    if (env !== undefined && command === 'start') {
      return `${flag} is not a flag: secrets are read from ${env} (or the config file), never from the command line, where every user of the machine can see them`;
    }
    const near = names
      .map((candidate) => ({ candidate, cost: distance(name, candidate) }))
      .filter(({ cost }) => cost <= Math.max(1, Math.ceil(name.length / 3)))
      .sort((a, b) => a.cost - b.cost)[0];
    const hint = near === undefined ? '' : ` (did you mean --${near.candidate}?)`;
    return `unknown option ${flag} for "wsmesh ${command}"${hint}`;
  }
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
    const missing = /^Option '(-[^']*?)(?: <value>)?' argument missing/.exec(message)?.[1];
    if (missing !== undefined) {
      const flag = missing.split(', ').at(-1) ?? missing;
      return `${flag} needs a value: ${flag} <value>`;
    }
    const extra = /^Option '(-[^']*)' does not take an argument/.exec(message)?.[1];
    if (extra !== undefined) {
      const flag = extra.split(', ').at(-1) ?? extra;
      return `${flag} takes no value: write ${flag} alone`;
    }
  }
  return undefined;
}

/** `parseArgs` in strict mode with positionals; a bad flag becomes a usage error. */
export function parseCommand<T extends Options>(
  command: string,
  args: string[],
  options: T,
): ReturnType<
  typeof parseArgs<{ args: string[]; options: T; allowPositionals: true; strict: true }>
> {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message =
      flagMessage(error, command, options) ??
      (error instanceof Error ? error.message : String(error));
    throw usageError(message, command);
  }
}

/** Parses a JSON command-line value; says which one is bad and how to quote a string. */
export function parseJson(text: string, what: string, command: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw usageError(
      `${what} is not JSON: ${text}\n(strings need JSON quotes inside shell quotes: '"hello"')`,
      command,
    );
  }
}

/** Parses an integer flag within bounds. */
export function parseInteger(
  text: string,
  what: string,
  command: string,
  min: number,
  max: number,
): number {
  const value = Number(text);
  if (!/^-?\d+$/.test(text.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw usageError(`${what} must be an integer from ${min} to ${max}, not "${text}"`, command);
  }
  return value;
}
