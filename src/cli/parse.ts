/**
 * Command-line parsing on top of `node:util` `parseArgs`: strict options, errors turned into
 * usage errors (exit 2), JSON arguments and numbers checked with readable messages.
 * @module
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { usageError } from './exit.js';

type Options = NonNullable<ParseArgsConfig['options']>;

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
    const message = error instanceof Error ? error.message : String(error);
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
