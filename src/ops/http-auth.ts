/**
 * Credentials of the operations pages. A token travels only in a request header
 * (`Authorization: Bearer <token>`) or in the body of the dashboard's login form, never in a
 * url (urls end up in browser history, proxy logs and `Referer` headers). A successful login
 * gets a session: a random cookie value that is worth nothing after the process ends or the
 * session expires, and from which the token cannot be derived. Tokens are compared in
 * constant time.
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** The token of an `Authorization: Bearer <token>` header, if the request has one. */
export function bearerToken(request: IncomingMessage): string | undefined {
  const header = request.headers.authorization;
  if (typeof header !== 'string') return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header.trim());
  return match?.[1];
}

/** The value of the cookie `name`, if the request has it. */
export function cookie(request: IncomingMessage, name: string): string | undefined {
  const cookies = request.headers.cookie;
  if (typeof cookies !== 'string') return undefined;
  for (const part of cookies.split(';')) {
    const at = part.indexOf('=');
    if (at > 0 && part.slice(0, at).trim() === name) return part.slice(at + 1).trim();
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

/** How long a dashboard session lasts: 12 hours. */
export const SESSION_TTL_MS = 12 * 60 * 60 * 1000;

/** Sessions kept at most; the oldest is dropped past it (a login flood cannot grow memory). */
export const MAX_SESSIONS = 256;

/**
 * Dashboard sessions: random ids (32 bytes, base64url) with an expiry, kept in this process
 * only. Keys are looked up by their SHA-256, so the map holds nothing a heap dump could replay.
 */
export class Sessions {
  private readonly sessions = new Map<string, number>();

  constructor(
    readonly ttlMs = SESSION_TTL_MS,
    private readonly max = MAX_SESSIONS,
    private readonly now: () => number = Date.now,
  ) {}

  /** Opens a session; returns its id (the cookie value). */
  create(): string {
    const id = randomBytes(32).toString('base64url');
    const expires = this.now() + this.ttlMs;
    for (const [key, until] of this.sessions) if (until <= this.now()) this.sessions.delete(key);
    while (this.sessions.size >= this.max) {
      const oldest = this.sessions.keys().next().value;
      if (oldest === undefined) break;
      this.sessions.delete(oldest);
    }
    this.sessions.set(digest(id).toString('hex'), expires);
    return id;
  }

  /** True when `id` is an open, unexpired session. */
  valid(id: string | undefined): boolean {
    if (id === undefined || id === '') return false;
    const key = digest(id).toString('hex');
    const until = this.sessions.get(key);
    if (until === undefined) return false;
    if (until <= this.now()) {
      this.sessions.delete(key);
      return false;
    }
    return true;
  }

  /** Open sessions (for tests and stats). */
  get size(): number {
    return this.sessions.size;
  }
}

/** Largest login form body read (a token and a field name). */
const MAX_LOGIN_BODY = 4096;

/**
 * Reads the `token` field of a urlencoded login form; undefined for a body that is too large,
 * of another type, or without the field.
 */
export function readLoginToken(request: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve) => {
    const type = request.headers['content-type'] ?? '';
    if (!/^application\/x-www-form-urlencoded\b/i.test(type)) {
      request.resume();
      resolve(undefined);
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (value: string | undefined): void => {
      if (done) return;
      done = true;
      resolve(value);
    };
    request.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_LOGIN_BODY) {
        chunks.length = 0;
        request.resume();
        finish(undefined);
        return;
      }
      chunks.push(chunk);
    });
    request.once('end', () => {
      const token = new URLSearchParams(Buffer.concat(chunks).toString('utf8')).get('token');
      finish(token === null || token === '' ? undefined : token);
    });
    request.once('error', () => finish(undefined));
    request.once('close', () => finish(undefined));
  });
}

/**
 * True when a browser request comes from the page's own origin: no `Origin` header (not a
 * cross-site browser request), or one naming this host. Refuses login forms posted from
 * other sites.
 */
export function sameOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  const host = request.headers.host;
  if (host === undefined) return false;
  try {
    return new URL(origin).host === host;
  } catch {
    return false;
  }
}
