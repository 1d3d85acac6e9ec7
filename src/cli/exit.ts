/**
 * Exit codes of the `wsmesh` command and the error that carries one. Every command fails with a
 * {@link CliError}; `main` prints its message (to stderr) and exits with its code.
 * @module
 */
import { AuthError, ConnectionClosedError, NotConnectedError, RemoteError } from '../errors.js';

/** Exit codes. */
export const Exit = {
  /** Done. */
  OK: 0,
  /** The operation failed (a remote error, a timeout, a node that refused). */
  FAILED: 1,
  /** Bad command line, environment or config file. */
  USAGE: 2,
  /** The node could not be reached. */
  UNREACHABLE: 3,
  /** The node refused the credentials (secret or token). */
  AUTH: 4,
} as const;

/** An error with the exit code the command ends with. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = Exit.FAILED,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** A usage error (exit 2) whose message ends with a pointer to `--help`. */
export function usageError(message: string, command?: string): CliError {
  const help = command === undefined ? 'wsmesh --help' : `wsmesh ${command} --help`;
  return new CliError(`${message}\nSee: ${help}`, Exit.USAGE);
}

/** Turns any error into a {@link CliError} with the fitting exit code. */
export function toCliError(error: unknown, target?: string): CliError {
  if (error instanceof CliError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof AuthError)
    return new CliError(`authentication refused: ${message}`, Exit.AUTH);
  if (error instanceof RemoteError) {
    return new CliError(
      `remote ${error.remoteName}${error.origin === undefined ? '' : ` on ${error.origin}`}: ${message}`,
      Exit.FAILED,
    );
  }
  if (error instanceof NotConnectedError || error instanceof ConnectionClosedError) {
    const detail = message.replace(/^Could not connect to \S+: /, '');
    return new CliError(`cannot reach ${target ?? 'the node'}: ${detail}`, Exit.UNREACHABLE);
  }
  const code = (error as { code?: unknown } | null)?.code;
  if (
    typeof code === 'string' &&
    /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET)$/.test(code)
  ) {
    return new CliError(`cannot reach ${target ?? 'the node'}: ${message}`, Exit.UNREACHABLE);
  }
  return new CliError(message, Exit.FAILED);
}
