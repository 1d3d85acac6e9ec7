/**
 * The JSON config file of `wsmesh start` (`--config`): its keys, reading and checking it, and
 * typed access to its values. Every problem is a usage error (exit 2) that names the file and
 * the key.
 * @module
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { usageError } from './exit.js';

/** Keys a config file may have. */
export const FILE_KEYS = [
  'port',
  'host',
  'id',
  'url',
  'path',
  'clones',
  'functions',
  'namespace',
  'workers',
  'dashboard',
  'metrics',
  'static',
  'logLevel',
  'secret',
  'dashboardToken',
  'metricsToken',
] as const;

export type FileKey = (typeof FILE_KEYS)[number];
export type FileConfig = Partial<Record<FileKey, unknown>>;

const COMMAND = 'start';

/** Reads `--config <path>`; `dir` is the file's folder (relative paths in it start there). */
export function readConfigFile(path: string): { config: FileConfig; dir: string } {
  const absolute = resolve(path);
  let text: string;
  try {
    text = readFileSync(absolute, 'utf8');
  } catch (error) {
    throw usageError(
      `cannot read --config ${path}: ${error instanceof Error ? error.message : String(error)}`,
      COMMAND,
    );
  }
  return { config: parseConfigObject(text, `--config ${path}`), dir: dirname(absolute) };
}

/** Parses and checks the keys of a JSON config object. */
export function parseConfigObject(text: string, where: string): FileConfig {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text) as unknown;
  } catch (error) {
    throw usageError(
      `${where} is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
      COMMAND,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw usageError(`${where} must hold a JSON object`, COMMAND);
  }
  const unknown = Object.keys(parsed).filter(
    (key) => !(FILE_KEYS as readonly string[]).includes(key),
  );
  if (unknown.length > 0) {
    throw usageError(
      `${where}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (known: ${FILE_KEYS.join(', ')})`,
      COMMAND,
    );
  }
  return parsed as FileConfig;
}

/** A string value of the file, if present. */
export function fileString(config: FileConfig, key: FileKey, where: string): string | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw usageError(`${where}: "${key}" must be a string`, COMMAND);
  return value;
}

/** A number value of the file, as text (it is checked like a flag), if present. */
export function fileNumber(config: FileConfig, key: FileKey, where: string): string | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'number') throw usageError(`${where}: "${key}" must be a number`, COMMAND);
  return String(value);
}

/** A boolean value of the file, if present. */
export function fileBoolean(config: FileConfig, key: FileKey, where: string): boolean | undefined {
  const value = config[key];
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean')
    throw usageError(`${where}: "${key}" must be true or false`, COMMAND);
  return value;
}
