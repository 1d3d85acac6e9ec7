/**
 * What a connection attempt needs before it dials: the codec, and the credentials (the
 * `credentials` option, or what the function given as `credentials` returns).
 * @module
 */
import { AuthError } from '../errors.js';
import type { Codec } from '../protocol/codec.js';
import { loadCodec } from '../protocol/codecs.js';
import type { ResolvedClientOptions } from './options.js';

/** Ready to dial, or why not: the client gives up, or the attempt fails authentication. */
export type AttemptPrep =
  | { readonly kind: 'ready'; readonly codec: Codec; readonly credentials: unknown }
  | { readonly kind: 'give-up'; readonly error: Error }
  | { readonly kind: 'auth-failed'; readonly error: AuthError };

/** Loads the codec and computes the credentials of one attempt. */
export async function prepareAttempt(options: ResolvedClientOptions): Promise<AttemptPrep> {
  let codec: Codec;
  try {
    codec = await loadCodec(options.codec);
  } catch (error) {
    return { kind: 'give-up', error: error instanceof Error ? error : new Error(String(error)) };
  }
  let credentials: unknown = options.credentials;
  if (typeof credentials === 'function') {
    try {
      credentials = await (credentials as () => unknown)();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const refused = new AuthError(`credentials() failed: ${message}`, undefined, {
        cause: error,
      });
      return { kind: 'auth-failed', error: refused };
    }
  }
  return { kind: 'ready', codec, credentials };
}
