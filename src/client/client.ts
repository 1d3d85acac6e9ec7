/**
 * The Node client (`import { Client } from 'wsmesh'`).
 * @module
 */
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { nodeDialer } from '../transport/node-dialer.js';
import { BaseClient } from './base-client.js';
import type { MessageTypes } from '../routing/message-types.js';
import type { ClientOptions } from './options.js';

/**
 * A wsmesh client for Node, over `ws`. `M` declares the messages (see {@link MessageTypes});
 * without it every message is untyped.
 */
export class Client<M extends MessageTypes = MessageTypes> extends BaseClient<M> {
  constructor(options: ClientOptions) {
    super(options, nodeDialer, 'client', nodeCipherFactory);
  }
}
