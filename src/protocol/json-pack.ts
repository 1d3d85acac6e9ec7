/**
 * JSON group messages built from encoded pieces (PROTOCOL.md 2.3 and 2.9, "Packs"): the
 * fields `target,route,act` and the data are encoded once, and serve both the message's own
 * GROUP_MESSAGE frame and a GROUP_MESSAGES pack of the messages that share those fields.
 * @module
 */
import { FrameType } from './wire-codes.js';

/** `[8,<fields>,<data>]`: one message's frame; `fields` is `target,route,act` encoded. */
export function jsonGroupMessage(fields: string, data: string): string {
  return `[${FrameType.GROUP_MESSAGE},${fields},${data}]`;
}

/** `[18,<fields>,[`: what every pack of messages with these fields starts with. */
export function jsonPackHead(fields: string): string {
  return `[${FrameType.GROUP_MESSAGES},${fields},[`;
}

/** The GROUP_MESSAGES frame of `datas` (encoded) after `head` (see {@link jsonPackHead}). */
export function jsonPack(head: string, datas: readonly string[]): string {
  return `${head}${datas.join(',')}]]`;
}
