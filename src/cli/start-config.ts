/**
 * The configuration of `wsmesh start`, from three sources: flags win over `WSMESH_*`
 * environment variables, which win over a JSON config file (`--config`), which wins over the
 * defaults. Secrets come only from the environment or the config file, never from flags (the
 * process list shows flags to every user of the machine).
 * @module
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { isLogLevel, type LogLevel } from '../ops/logger.js';
import {
  fileBoolean,
  fileNumber,
  fileString,
  parseConfigObject,
  readConfigFile,
  type FileConfig,
  type FileKey,
} from './config-file.js';
import { usageError } from './exit.js';
import { parseInteger } from './parse.js';

/** A clone to add at start. */
export interface CloneSpec {
  id: string;
  url: string;
}

/** Everything `wsmesh start` needs. */
export interface StartConfig {
  port: number;
  host: string;
  id: string | undefined;
  url: string | undefined;
  path: string;
  clones: CloneSpec[];
  /** NATS urls: run on the NATS backplane instead of the clone mesh (`--nats`). */
  nats: string[];
  /** Absolute path of the functions module. */
  functions: string | undefined;
  namespace: string;
  workers: number;
  dashboard: boolean;
  metrics: boolean;
  /** Absolute path of the folder served over HTTP (`--static`). */
  staticDir: string | undefined;
  logLevel: LogLevel;
  secret: string | undefined;
  dashboardToken: string | undefined;
  metricsToken: string | undefined;
}

/** Flags as `parseArgs` returns them for `start`. */
export interface StartFlags {
  port?: string | undefined;
  host?: string | undefined;
  id?: string | undefined;
  url?: string | undefined;
  path?: string | undefined;
  clone?: string[] | undefined;
  nats?: string[] | undefined;
  functions?: string | undefined;
  namespace?: string | undefined;
  workers?: string | undefined;
  dashboard?: boolean | undefined;
  metrics?: boolean | undefined;
  static?: string | undefined;
  'log-level'?: string | undefined;
}

const COMMAND = 'start';

/** Parses `id=url`. */
export function parseCloneSpec(text: string, where: string): CloneSpec {
  const at = text.indexOf('=');
  const id = at > 0 ? text.slice(0, at).trim() : '';
  const url = at > 0 ? text.slice(at + 1).trim() : '';
  if (id === '' || !/^wss?:\/\/\S+$/.test(url)) {
    throw usageError(`${where}: "${text}" is not id=ws://host:port`, COMMAND);
  }
  return { id, url };
}

function parseBoolean(text: string, where: string): boolean {
  const value = text.trim().toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(value)) return true;
  if (['0', 'false', 'no', 'off', ''].includes(value)) return false;
  throw usageError(`${where} must be true or false, not "${text}"`, COMMAND);
}

function fileClones(config: FileConfig, where: string): CloneSpec[] | undefined {
  const value = config.clones;
  if (value === undefined) return undefined;
  if (!Array.isArray(value)) {
    throw usageError(`${where}: "clones" must be an array of "id=url" or {"id", "url"}`, COMMAND);
  }
  return value.map((entry: unknown) => {
    if (typeof entry === 'string') return parseCloneSpec(entry, `${where} clones`);
    const spec = entry as { id?: unknown; url?: unknown } | null;
    if (typeof spec?.id === 'string' && typeof spec.url === 'string')
      return parseCloneSpec(`${spec.id}=${spec.url}`, `${where} clones`);
    throw usageError(`${where}: every clone must be "id=url" or {"id", "url"}`, COMMAND);
  });
}

/** `--static`: an existing folder (its absolute path), or a usage error that says why not. */
function staticFolder(path: string, base: string, where: string): string {
  const absolute = resolve(base, path);
  let isDirectory: boolean;
  try {
    isDirectory = statSync(absolute).isDirectory();
  } catch {
    throw usageError(`${where} ${path}: no such directory (${absolute})`, COMMAND);
  }
  if (!isDirectory) throw usageError(`${where} ${path}: not a directory`, COMMAND);
  return absolute;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/**
 * Resolves the configuration. `configPath` is `--config`; in a worker, `workerJson` (the
 * parent's resolved config) is the only source.
 */
export function resolveStartConfig(
  flags: StartFlags,
  env: Record<string, string | undefined>,
  configPath: string | undefined,
  workerJson?: string,
): StartConfig {
  let file: FileConfig = {};
  let fileDir = process.cwd();
  let where = 'config';
  if (workerJson !== undefined) {
    file = parseConfigObject(workerJson, 'worker config');
    flags = {};
    env = {};
  } else if (configPath !== undefined) {
    ({ config: file, dir: fileDir } = readConfigFile(configPath));
    where = `--config ${configPath}`;
  }
  const pick = (flag: string | undefined, envName: string, key: FileKey): string | undefined =>
    flag ?? nonEmpty(env[envName]) ?? fileString(file, key, where);
  const pickNumber = (
    flag: string | undefined,
    envName: string,
    key: FileKey,
  ): string | undefined => flag ?? nonEmpty(env[envName]) ?? fileNumber(file, key, where);
  const pickBoolean = (flag: boolean | undefined, envName: string, key: FileKey): boolean => {
    if (flag === true) return true;
    const fromEnv = env[envName];
    if (fromEnv !== undefined) return parseBoolean(fromEnv, envName);
    return fileBoolean(file, key, where) ?? false;
  };

  const portText = pickNumber(flags.port, 'WSMESH_PORT', 'port');
  const port = portText === undefined ? 3000 : parseInteger(portText, 'port', COMMAND, 0, 65535);
  const workersText = pickNumber(flags.workers, 'WSMESH_WORKERS', 'workers');
  const workers =
    workersText === undefined ? 1 : parseInteger(workersText, 'workers', COMMAND, 1, 256);
  const url = pick(flags.url, 'WSMESH_URL', 'url');
  if (url !== undefined && !/^wss?:\/\/\S+$/.test(url)) {
    throw usageError(`url must start with ws:// or wss://, not "${url}"`, COMMAND);
  }
  if (url !== undefined && workers > 1) {
    throw usageError(
      '--url cannot be combined with --workers: each worker announces its own',
      COMMAND,
    );
  }
  const path = pick(flags.path, 'WSMESH_PATH', 'path') ?? '/';
  if (!path.startsWith('/')) throw usageError(`path must start with "/", not "${path}"`, COMMAND);
  let clones: CloneSpec[];
  if (flags.clone !== undefined && flags.clone.length > 0) {
    clones = flags.clone.map((text) => parseCloneSpec(text, '--clone'));
  } else if (nonEmpty(env['WSMESH_CLONES']) !== undefined) {
    clones = (env['WSMESH_CLONES'] ?? '')
      .split(',')
      .filter((text) => text.trim() !== '')
      .map((text) => parseCloneSpec(text, 'WSMESH_CLONES'));
  } else clones = fileClones(file, where) ?? [];
  const nats =
    flags.nats ??
    (env['WSMESH_NATS'] ?? '')
      .split(',')
      .map((text) => text.trim())
      .filter((text) => text !== '');
  for (const server of nats) {
    if (!/^(nats|tls):\/\/\S+$/.test(server))
      throw usageError(`--nats takes nats:// or tls:// urls, not "${server}"`, COMMAND);
  }
  if (nats.length > 0 && (clones.length > 0 || workers > 1)) {
    throw usageError('--nats cannot be combined with --clone or --workers', COMMAND);
  }
  const functionsFlag = flags.functions ?? nonEmpty(env['WSMESH_FUNCTIONS']);
  const functionsFile = fileString(file, 'functions', where);
  const functions =
    functionsFlag !== undefined
      ? resolve(functionsFlag)
      : functionsFile === undefined
        ? undefined
        : resolve(fileDir, functionsFile);
  const staticFlag = flags.static ?? nonEmpty(env['WSMESH_STATIC']);
  const staticFile = fileString(file, 'static', where);
  const staticDir =
    staticFlag !== undefined
      ? staticFolder(
          staticFlag,
          process.cwd(),
          flags.static !== undefined ? '--static' : 'WSMESH_STATIC',
        )
      : staticFile === undefined
        ? undefined
        : staticFolder(staticFile, fileDir, `${where}: "static"`);
  const logLevel = pick(flags['log-level'], 'WSMESH_LOG_LEVEL', 'logLevel') ?? 'warn';
  if (!isLogLevel(logLevel)) {
    throw usageError(
      `log level must be debug, info, warn, error or silent, not "${logLevel}"`,
      COMMAND,
    );
  }
  const id = pick(flags.id, 'WSMESH_ID', 'id');
  if (id !== undefined && (id === '' || id.length > 256)) {
    throw usageError('id must be 1 to 256 characters', COMMAND);
  }
  const secret = nonEmpty(env['WSMESH_SECRET']) ?? fileString(file, 'secret', where);
  const dashboardToken =
    nonEmpty(env['WSMESH_DASHBOARD_TOKEN']) ?? fileString(file, 'dashboardToken', where);
  const metricsToken =
    nonEmpty(env['WSMESH_METRICS_TOKEN']) ?? fileString(file, 'metricsToken', where);
  for (const [name, token] of [
    ['WSMESH_DASHBOARD_TOKEN', dashboardToken],
    ['WSMESH_METRICS_TOKEN', metricsToken],
  ] as const) {
    if (token !== undefined && token.length < 8)
      throw usageError(`${name} must be at least 8 characters`, COMMAND);
  }
  return {
    port,
    host: pick(flags.host, 'WSMESH_HOST', 'host') ?? '127.0.0.1',
    id,
    url,
    path,
    clones,
    nats,
    functions,
    namespace: pick(flags.namespace, 'WSMESH_NAMESPACE', 'namespace') ?? 'DEFAULT',
    workers,
    dashboard: pickBoolean(flags.dashboard, 'WSMESH_DASHBOARD', 'dashboard'),
    metrics: pickBoolean(flags.metrics, 'WSMESH_METRICS', 'metrics'),
    staticDir,
    logLevel,
    secret,
    dashboardToken,
    metricsToken,
  };
}

/** The config as a worker's JSON (config-file format; the functions and static paths are absolute). */
export function workerJson(config: StartConfig, overrides: Partial<StartConfig>): string {
  const merged = { ...config, ...overrides };
  const file: FileConfig = {
    port: merged.port,
    host: merged.host,
    id: merged.id,
    url: merged.url,
    path: merged.path,
    clones: merged.clones,
    functions: merged.functions,
    namespace: merged.namespace,
    workers: 1,
    dashboard: merged.dashboard,
    metrics: merged.metrics,
    static: merged.staticDir,
    logLevel: merged.logLevel,
    secret: merged.secret,
    dashboardToken: merged.dashboardToken,
    metricsToken: merged.metricsToken,
  };
  return JSON.stringify(file);
}
