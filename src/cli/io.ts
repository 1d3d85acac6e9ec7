/**
 * What a command reads and writes: output lines, error lines and the environment. `main` passes
 * the process's; tests may pass their own.
 * @module
 */

/** Streams and environment of one command run. */
export interface CommandIo {
  /** Writes a line to standard output. */
  out(line: string): void;
  /** Writes a line to standard error. */
  err(line: string): void;
  /** Environment variables. */
  env: Record<string, string | undefined>;
}

/** The process's own streams and environment. */
export function processIo(): CommandIo {
  return {
    out: (line) => {
      process.stdout.write(`${line}\n`);
    },
    err: (line) => {
      process.stderr.write(`${line}\n`);
    },
    env: process.env,
  };
}
