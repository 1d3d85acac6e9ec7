/**
 * `wsmesh call <url> <namespace> <fn> [json args...]`: calls an RPC function on a node and
 * prints the result as JSON (a generator's items as one JSON line each).
 * @module
 */
import { RpcProxy } from '../client/node-rpc-proxy.js';
import { CliError, Exit, toCliError, usageError } from './exit.js';
import { parseCommand, parseInteger, parseJson } from './parse.js';
import type { CommandIo } from './io.js';
import { toWsUrl } from './urls.js';

/** Help text of `wsmesh call`. */
export const CALL_HELP = `Usage: wsmesh call <url> <namespace> <function> [json args...]

Calls an RPC function on a node (or anywhere in its cluster) and prints the result as JSON.
A generator function prints one JSON line per item. Each argument is JSON: numbers as they
are, strings in JSON quotes inside shell quotes ('"hello"'), objects as '{"a":1}'.

Options:
  --timeout <ms>   reply timeout (default 10000)
  -h, --help       this help

Environment:
  WSMESH_SECRET    the node's server secret, if it has one (proved with an HMAC, never sent)

Exit codes: 0 done, 1 the call failed, 2 bad arguments, 3 node unreachable, 4 secret refused.

Example:
  wsmesh call ws://127.0.0.1:3000 math add 2 3`;

/** Runs `wsmesh call`. */
export async function callCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand('call', args, {
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(CALL_HELP);
    return Exit.OK;
  }
  const [target, namespace, name, ...rawArgs] = positionals;
  if (target === undefined || namespace === undefined || name === undefined) {
    throw usageError('call needs <url> <namespace> <function>', 'call');
  }
  const url = toWsUrl(target, 'call');
  const callArgs = rawArgs.map((text, index) => parseJson(text, `argument ${index + 1}`, 'call'));
  const timeout =
    values.timeout === undefined
      ? 10_000
      : parseInteger(values.timeout, '--timeout', 'call', 1, 3_600_000);
  const secret = io.env['WSMESH_SECRET'];
  let proxy: RpcProxy;
  try {
    proxy = await RpcProxy.create({
      url,
      namespace,
      timeout,
      reconnect: false,
      ...(secret === undefined || secret === '' ? {} : { serverSecret: secret }),
    });
  } catch (error) {
    throw toCliError(error, url);
  }
  try {
    const info = proxy.functions.find((fn) => fn.name === name);
    if (info === undefined) {
      const known = proxy.functions.map((fn) => fn.name).sort();
      throw new CliError(
        `no function "${name}" in namespace "${namespace}" at ${url}` +
          (known.length === 0 ? ' (the namespace is empty)' : ` (it has: ${known.join(', ')})`),
        Exit.FAILED,
      );
    }
    if (info.kind === 'generator') {
      const items = proxy.stream(name, ...callArgs);
      for await (const item of items) io.out(JSON.stringify(item) ?? 'null');
    } else {
      const result = await proxy.call(name, ...callArgs);
      io.out(JSON.stringify(result, null, 2) ?? 'null');
    }
    return Exit.OK;
  } catch (error) {
    throw toCliError(error, url);
  } finally {
    await proxy.close();
  }
}
