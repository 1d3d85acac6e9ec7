/**
 * Node addresses on the command line: `ws://host:port/path`, `wss://...`, `http(s)://...` or
 * a bare `host:port`, turned into the WebSocket or HTTP address a command needs.
 * @module
 */
import { usageError } from './exit.js';

function parse(input: string, command: string): URL {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(input) ? input : `ws://${input}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw usageError(`not a node address: "${input}" (use ws://host:port)`, command);
  }
  if (!['ws:', 'wss:', 'http:', 'https:'].includes(url.protocol)) {
    throw usageError(
      `unsupported scheme in "${input}" (use ws://, wss://, http:// or https://)`,
      command,
    );
  }
  return url;
}

/** The WebSocket address of a node (`http` becomes `ws`, `https` becomes `wss`). */
export function toWsUrl(input: string, command: string): string {
  const url = parse(input, command);
  if (url.protocol === 'http:') url.protocol = 'ws:';
  if (url.protocol === 'https:') url.protocol = 'wss:';
  return url.toString();
}

/** The HTTP base of a node (its endpoint path kept, without a trailing slash). */
export function toHttpBase(input: string, command: string): string {
  const url = parse(input, command);
  if (url.protocol === 'ws:') url.protocol = 'http:';
  if (url.protocol === 'wss:') url.protocol = 'https:';
  url.search = '';
  url.hash = '';
  return url.toString().replace(/\/+$/, '');
}
