/**
 * The `wsmesh` command line: dispatches to `start`, `call`, `publish` and `inspect`, prints
 * errors on stderr and maps them to exit codes: 0 done, 1 failed, 2 bad usage, 3 node
 * unreachable, 4 credentials refused (see exit.ts).
 * @module
 */
import { readFileSync } from 'node:fs';
import { Exit, toCliError, usageError } from './exit.js';
import type { CommandIo } from './io.js';

/** Help text of `wsmesh`. */
export const HELP = `Usage: wsmesh <command> [options]

Commands:
  start                               run a node (or --workers N meshed nodes)
  call <url> <namespace> <fn> [args]  call an RPC function, print the result as JSON
  publish <url> <group> <json>        publish a group message through a node
  inspect <url>                       print the cluster as a node sees it

Options:
  -h, --help       help (also: wsmesh <command> --help)
  -v, --version    the version

Exit codes: 0 done, 1 failed, 2 bad usage, 3 node unreachable, 4 credentials refused.`;

function version(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed = JSON.parse(text) as { version?: unknown };
    return typeof parsed.version === 'string' ? parsed.version : 'unknown';
  } catch {
    return 'unknown';
  }
}

/** Runs the command line `args` (without `node` and the script); resolves with the exit code. */
export async function main(args: string[], io: CommandIo, script: string): Promise<number> {
  const [command, ...rest] = args;
  try {
    switch (command) {
      // Each command loads only what it needs (a client does not load the server).
      case 'start':
        return await (await import('./start.js')).startCommand(rest, io, script);
      case 'call':
        return await (await import('./call.js')).callCommand(rest, io);
      case 'publish':
        return await (await import('./publish.js')).publishCommand(rest, io);
      case 'inspect':
        return await (await import('./inspect.js')).inspectCommand(rest, io);
      case undefined:
      case 'help':
      case '-h':
      case '--help':
        io.out(HELP);
        return command === undefined ? Exit.USAGE : Exit.OK;
      case '-v':
      case '--version':
        io.out(version());
        return Exit.OK;
      default:
        throw usageError(`unknown command "${command}"`);
    }
  } catch (error) {
    const failure = toCliError(error);
    io.err(`wsmesh: ${failure.message}`);
    return failure.exitCode;
  }
}
