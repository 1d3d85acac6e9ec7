/**
 * Pluggable logging for the server (`logger` option). wsmesh calls `logger.<level>(fields,
 * message)`, the convention of pino and bunyan; `console` works too (it prints the fields, then
 * the message). Quiet by default: without a logger (and with `silent` left at true) nothing is
 * logged and nothing is formatted. At debug level the server logs every incoming frame's type
 * and the handshake and close of every connection; the debug check is one boolean per frame.
 * @module
 */
import { FrameType } from '../protocol/frames.js';

/** Levels, most verbose first; `silent` logs nothing. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

/** Levels in order, most verbose first. */
export const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/**
 * A logger the server writes to: pino, bunyan, console and most loggers fit. Each method is
 * called as `(fields, message)`; a missing method means that level is dropped. When
 * `isLevelEnabled` exists (pino), it decides, once at construction, whether debug logging
 * (one line per frame) is on; otherwise debug is on when `debug` exists and a string `level`
 * (if any) allows it.
 */
export interface WsMeshLogger {
  debug?(...args: unknown[]): unknown;
  info?(...args: unknown[]): unknown;
  warn?(...args: unknown[]): unknown;
  error?(...args: unknown[]): unknown;
  isLevelEnabled?(level: string): boolean;
  level?: unknown;
}

/** Structured fields of a log line. */
export type LogFields = Record<string, unknown>;

/** True when `value` is one of {@link LOG_LEVELS}. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && (LOG_LEVELS as readonly string[]).includes(value);
}

function formatValue(value: unknown): string {
  if (typeof value === 'string') return /\s/.test(value) ? JSON.stringify(value) : value;
  if (value instanceof Error) return JSON.stringify(value.message);
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
}

/**
 * A console logger with a threshold (`info` shows info, warn and error): one line per entry,
 * `[wsmesh <server>] <message> key=value...`; errors and warnings go to stderr.
 */
export function createConsoleLogger(level: LogLevel = 'info'): WsMeshLogger {
  const threshold = LOG_LEVELS.indexOf(level);
  const enabled = (name: LogLevel): boolean =>
    name !== 'silent' && LOG_LEVELS.indexOf(name) >= threshold;
  const line =
    (name: Exclude<LogLevel, 'silent'>, write: (text: string) => void) =>
    (...args: unknown[]): void => {
      if (!enabled(name)) return;
      const [first, second] = args;
      const fields: LogFields =
        typeof first === 'object' && first !== null ? { ...(first as LogFields) } : {};
      const message = typeof first === 'string' ? first : typeof second === 'string' ? second : '';
      const server = fields['server'];
      delete fields['server'];
      const rest = Object.entries(fields)
        .filter(([, value]) => value !== undefined)
        .map(([key, value]) => `${key}=${formatValue(value)}`)
        .join(' ');
      const prefix = server === undefined ? '[wsmesh]' : `[wsmesh ${String(server)}]`;
      write(`${prefix} ${name === 'info' ? '' : `${name}: `}${message}${rest ? ` ${rest}` : ''}`);
    };
  return {
    level,
    isLevelEnabled: (name: string) => isLogLevel(name) && enabled(name),
    debug: line('debug', (text) => console.log(text)),
    info: line('info', (text) => console.log(text)),
    warn: line('warn', (text) => console.error(text)),
    error: line('error', (text) => console.error(text)),
  };
}

const FRAME_NAMES = new Map<number, string>(
  Object.entries(FrameType).map(([name, value]) => [value, name]),
);

/** The name of a frame type (`RPC_CALL`), or its number as a string. */
export function frameName(type: number): string {
  return FRAME_NAMES.get(type) ?? String(type);
}

function debugEnabled(logger: WsMeshLogger): boolean {
  if (typeof logger.debug !== 'function') return false;
  if (typeof logger.isLevelEnabled === 'function') return logger.isLevelEnabled('debug');
  if (typeof logger.level === 'string' && isLogLevel(logger.level)) return logger.level === 'debug';
  return true;
}

/** The server's handle on its logger: adds `server` to every entry, never throws. */
export class ServerLog {
  /** True when debug entries (one per frame) are wanted. Read once at construction. */
  readonly debugEnabled: boolean;

  constructor(
    private readonly logger: WsMeshLogger | undefined,
    private readonly serverId: string,
  ) {
    this.debugEnabled = logger !== undefined && debugEnabled(logger);
  }

  /** The logger from the `logger` and `silent` options: the given one, console, or none. */
  static fromOptions(logger: WsMeshLogger | undefined, silent: boolean, id: string): ServerLog {
    return new ServerLog(logger ?? (silent ? undefined : createConsoleLogger('info')), id);
  }

  /** Logs at debug level (call only when {@link debugEnabled}, to skip building fields). */
  debug(message: string, fields?: LogFields): void {
    this.write('debug', message, fields);
  }

  /** Logs at info level. */
  info(message: string, fields?: LogFields): void {
    this.write('info', message, fields);
  }

  /** Logs at warn level. */
  warn(message: string, fields?: LogFields): void {
    this.write('warn', message, fields);
  }

  /** Logs at error level. */
  error(message: string, fields?: LogFields): void {
    this.write('error', message, fields);
  }

  private write(level: Exclude<LogLevel, 'silent'>, message: string, fields?: LogFields): void {
    const logger = this.logger;
    if (logger === undefined) return;
    const method = logger[level];
    if (typeof method !== 'function') return;
    try {
      method.call(logger, { server: this.serverId, ...fields }, message);
    } catch {
      // A broken logger must not break the server.
    }
  }
}
