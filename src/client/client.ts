/**
 * The Node client (`import { Client } from 'wsmesh'`).
 * @module
 */
import { nodeCipherFactory } from '../transport/node-cipher.js';
import { nodeDialer } from '../transport/node-dialer.js';
import { BaseClient } from './base-client.js';
import type { ClientOptions } from './options.js';

/** A wsmesh client for Node, over `ws`. */
export class Client extends BaseClient {
  constructor(options: ClientOptions) {
    super(options, nodeDialer, 'client', nodeCipherFactory);
  }
}
