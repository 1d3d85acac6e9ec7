/**
 * How a failed connection attempt is told: `connect_error` and `error` carry why. A silent
 * client with no listener for either writes the first failure of each outage to the console,
 * so a wrong url or a server that is down is never a silent hang.
 * @module
 */
import type { WsMeshError } from '../errors.js';
import type { ConnectorHost, ErrorListened } from './connector-host.js';

/** Reports the failed attempts of one client. */
export class AttemptFailures<C extends ErrorListened> {
  /** Set once a failure of the current outage was written to the console. */
  private logged = false;

  constructor(
    private readonly host: ConnectorHost<C>,
    /** Failed attempts in a row, the one being reported included. */
    private readonly attempt: () => number,
  ) {}

  /** A connection opened or the client starts: the next failure starts a new outage. */
  reset(): void {
    this.logged = false;
  }

  /** One attempt to `url` failed with `error`. */
  report(url: string, error: WsMeshError): void {
    const { options, client } = this.host;
    const handled = client.listenerCount('error') > 0 || client.listenerCount('connect_error') > 0;
    if (options.silent && !this.logged && !handled) {
      this.logged = true;
      const next = options.reconnect ? `; retrying every ${options.reconnectTimeout} ms` : '';
      console.error(
        `[wsmesh client ${options.id}] ${error.message}${next} (listen to the client's 'error' event to handle this yourself)`,
      );
    }
    this.host.emit('connect_error', { client, error, url, attempt: this.attempt() });
    this.host.reportError(error);
  }
}
