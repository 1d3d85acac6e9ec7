/**
 * `wsmesh publish <url> <group> <json>`: publishes a group message through a node (it reaches
 * the group's subscribers on every clone of the mesh).
 * @module
 */
import { Client } from '../client/client.js';
import { Exit, toCliError, usageError } from './exit.js';
import type { CommandIo } from './io.js';
import { parseCommand, parseInteger, parseJson } from './parse.js';
import { toWsUrl } from './urls.js';

/** Help text of `wsmesh publish`. */
export const PUBLISH_HELP = `Usage: wsmesh publish <url> <group> <json>

Publishes a group message through a node: every subscriber of the group on every clone of the
mesh gets it. Waits for the node's acknowledgement and prints how many of that node's own
connections got it.

Options:
  --route <name>   route of the message (what subscribers' routes match)
  --act <name>     act of the message
  --timeout <ms>   acknowledgement timeout (default 10000)
  -h, --help       this help

Environment:
  WSMESH_SECRET    the node's server secret, if it asks clients to prove it

Exit codes: 0 published, 1 refused by the node, 2 bad arguments, 3 node unreachable.

Example:
  wsmesh publish ws://127.0.0.1:3000 lobby '{"text":"hello"}' --route chat`;

/** Runs `wsmesh publish`. */
export async function publishCommand(args: string[], io: CommandIo): Promise<number> {
  const { values, positionals } = parseCommand('publish', args, {
    route: { type: 'string' },
    act: { type: 'string' },
    timeout: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  });
  if (values.help === true) {
    io.out(PUBLISH_HELP);
    return Exit.OK;
  }
  const [target, group, json, ...extra] = positionals;
  if (target === undefined || group === undefined || json === undefined) {
    throw usageError('publish needs <url> <group> <json>', 'publish');
  }
  if (extra.length > 0) {
    throw usageError(
      `unexpected arguments: ${extra.join(' ')} (quote the JSON message)`,
      'publish',
    );
  }
  const url = toWsUrl(target, 'publish');
  const data = parseJson(json, 'the message', 'publish');
  const timeout =
    values.timeout === undefined
      ? 10_000
      : parseInteger(values.timeout, '--timeout', 'publish', 1, 3_600_000);
  const secret = io.env['WSMESH_SECRET'];
  const client = new Client({
    url,
    reconnect: false,
    awaitResTimeout: timeout,
    handshakeTimeout: timeout,
    ...(secret === undefined || secret === '' ? {} : { serverSecret: secret }),
  });
  try {
    await client.start();
  } catch (error) {
    await client.stop();
    throw toCliError(error, url);
  }
  try {
    const delivered = await client.sendMesToGroup({
      id: group,
      data,
      awaitRes: true,
      ...(values.route === undefined ? {} : { route: values.route }),
      ...(values.act === undefined ? {} : { act: values.act }),
    });
    const serverId = client.getInfo().serverId ?? '?';
    io.out(
      `published to "${group}" through ${serverId}` +
        (typeof delivered === 'number' ? ` (${delivered} local deliveries)` : ''),
    );
    return Exit.OK;
  } catch (error) {
    throw toCliError(error, url);
  } finally {
    await client.stop();
  }
}
