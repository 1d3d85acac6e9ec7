/**
 * Credentials of the operations pages: a token given as `Authorization: Bearer <token>`, as a
 * `?token=` query parameter (for opening the dashboard from a link), or in the cookie the
 * dashboard sets after such a link (so the token leaves the address bar). Compared in
 * constant time.
 * @module
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Where a credential was found. */
export type CredentialSource = 'header' | 'query' | 'cookie';

/** The credential a request presents, if any. */
export function presentedCredential(
  request: IncomingMessage,
  url: URL,
  cookieName: string,
): { value: string; source: CredentialSource } | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match?.[1] !== undefined) return { value: match[1], source: 'header' };
  }
  const query = url.searchParams.get('token');
  if (query !== null && query !== '') return { value: query, source: 'query' };
  const cookies = request.headers.cookie;
  if (typeof cookies === 'string') {
    for (const part of cookies.split(';')) {
      const [name, ...rest] = part.trim().split('=');
      if (name === cookieName && rest.length > 0) {
        try {
          return { value: decodeURIComponent(rest.join('=')), source: 'cookie' };
        } catch {
          return undefined;
        }
      }
    }
  }
  return undefined;
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** True when `given` equals `expected` (constant time, whatever the lengths). */
export function matchesToken(given: string, expected: string): boolean {
  return timingSafeEqual(digest(given), digest(expected));
}
