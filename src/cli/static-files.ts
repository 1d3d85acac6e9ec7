/**
 * `wsmesh start --static <dir>`: the node's HTTP server also serves a folder of files (a web
 * app), the browser client bundle and the node's addresses, so a page and its mesh come from
 * one command:
 *
 * - `GET /wsmesh.json`: `{ id, urls }`, this node's WebSocket url first, then those of the
 *   clones it knows (linked first): a page's failover list;
 * - `GET /wsmesh-client.js` and `/chunks/*`: the browser client from the package's `dist/`
 *   (written by `npm run bundle`; 404 with a hint when it was not built);
 * - any other GET or HEAD: the file under the folder (`index.html` for a folder), or 404.
 *
 * Paths never leave the folder: `..` segments, encoded or not, are refused (403), as are
 * backslashes and NUL bytes (400); hidden names (a segment starting with `.`) are 404; a file
 * reached through a symbolic link is served only if its real path is inside the folder.
 * @module
 */
import { createReadStream, existsSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerStats } from '../server/server.js';

/** What `/wsmesh.json` says. */
export interface MeshInfo {
  /** This node's id. */
  id: string;
  /** WebSocket urls: this node's first, then its clones'. */
  urls: string[];
}

/** Options of {@link createStaticSite}. */
export interface StaticSiteOptions {
  /** Absolute path of an existing folder. */
  root: string;
  /** Folder holding `wsmesh-client.js` and `chunks/`. Default: the package's `dist/`. */
  bundleDir?: string;
  /** The body of `/wsmesh.json`, computed per request. */
  mesh(request: IncomingMessage): MeshInfo;
}

/** A request handler for the folder, the bundle and `/wsmesh.json`. */
export interface StaticSite {
  /** Answers every request (404 when nothing matches). */
  handle(request: IncomingMessage, response: ServerResponse): void;
  /** True when the browser client bundle exists (checked now). */
  bundleBuilt(): boolean;
}

/** Where `npm run bundle` writes the browser client: `dist/` next to `src/` and `dist/cli/`. */
export const PACKAGE_BUNDLE_DIR = fileURLToPath(new URL('../../dist/', import.meta.url));

/** File name of the browser client's entry. */
export const BUNDLE_ENTRY = 'wsmesh-client.js';

/** True when `npm run bundle` wrote the browser client into `bundleDir`. */
export function isBundleBuilt(bundleDir = PACKAGE_BUNDLE_DIR): boolean {
  return existsSync(join(bundleDir, BUNDLE_ENTRY));
}

/** Served when the bundle was not built. */
export const BUNDLE_MISSING =
  'The wsmesh browser client is not built: run `npm run bundle` in the wsmesh repository ' +
  '(the published package contains it); it writes dist/wsmesh-client.js and dist/chunks/.\n';

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
};

/** Content type by file extension (`application/octet-stream` when unknown). */
export function contentType(path: string): string {
  return CONTENT_TYPES[extname(path).toLowerCase()] ?? 'application/octet-stream';
}

/**
 * The urls of `/wsmesh.json`: `own` first, then the clones of `stats` this node has a live
 * link with (each url once). Only linked clones passed this node's handshake checks; a url
 * merely learned by gossip is never handed to browsers, which would send it their credentials.
 */
export function meshUrls(own: string, peers: ServerStats['clones']['peers']): string[] {
  const urls = peers
    .filter((peer) => peer.url !== null && peer.state === 'linked')
    .map((peer) => peer.url ?? '');
  return [...new Set([own, ...urls])];
}

function plain(response: ServerResponse, status: number, text: string, head: boolean): void {
  response.writeHead(status, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'x-content-type-options': 'nosniff',
  });
  response.end(head ? undefined : text);
}

/** The path's segments, decoded, or the status that refuses it. */
export function pathSegments(url: string | undefined): string[] | 400 | 403 | 404 {
  const raw = (url ?? '/').split('?')[0] ?? '/';
  if (!raw.startsWith('/')) return 400;
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    return 400;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return 400;
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment === '..')) return 403;
  if (segments.some((segment) => segment.startsWith('.'))) return 404;
  return segments;
}

/** True when `path` is `root` or inside it. */
function inside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : root + sep);
}

/** Serves the folder `options.root`, the browser client and `/wsmesh.json`. */
export function createStaticSite(options: StaticSiteOptions): StaticSite {
  const bundleDir = options.bundleDir ?? PACKAGE_BUNDLE_DIR;
  const entry = join(bundleDir, BUNDLE_ENTRY);
  let realRoot: Promise<string> | undefined;

  /** Streams `path` (a regular file), or answers 404. */
  async function sendFile(
    path: string,
    response: ServerResponse,
    head: boolean,
    within: string,
  ): Promise<void> {
    let real: string;
    try {
      real = await realpath(path);
    } catch {
      plain(response, 404, 'not found\n', head);
      return;
    }
    const info = await stat(real);
    if (!inside(within, real) || !info.isFile()) {
      plain(response, 404, 'not found\n', head);
      return;
    }
    response.writeHead(200, {
      'content-type': contentType(real),
      'content-length': info.size,
      'cache-control': 'no-cache',
      'x-content-type-options': 'nosniff',
    });
    if (head) {
      response.end();
      return;
    }
    const stream = createReadStream(real);
    stream.once('error', () => response.destroy());
    stream.pipe(response);
  }

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const head = request.method === 'HEAD';
    if (!head && request.method !== 'GET') {
      response.setHeader('allow', 'GET, HEAD');
      plain(response, 405, 'method not allowed\n', head);
      return;
    }
    const segments = pathSegments(request.url);
    if (typeof segments === 'number') {
      const text = { 400: 'bad path\n', 403: 'forbidden\n', 404: 'not found\n' }[segments];
      plain(response, segments, text, head);
      return;
    }
    const pathname = `/${segments.join('/')}`;
    if (pathname === '/wsmesh.json') {
      const body = JSON.stringify(options.mesh(request));
      response.writeHead(200, {
        'content-type': 'application/json; charset=utf-8',
        'content-length': Buffer.byteLength(body),
        'cache-control': 'no-store',
      });
      response.end(head ? undefined : body);
      return;
    }
    const isEntry = pathname === `/${BUNDLE_ENTRY}`;
    if (isEntry || (segments.length === 2 && segments[0] === 'chunks')) {
      if (!existsSync(entry)) {
        plain(response, 404, BUNDLE_MISSING, head);
        return;
      }
      const bundleRoot = await realpath(bundleDir);
      await sendFile(join(bundleDir, ...segments), response, head, bundleRoot);
      return;
    }
    realRoot ??= realpath(options.root);
    const root = await realRoot;
    const path = join(root, ...segments);
    let info;
    try {
      info = await stat(path);
    } catch {
      plain(response, 404, 'not found\n', head);
      return;
    }
    if (info.isDirectory()) {
      if (!(request.url ?? '/').split('?')[0]?.endsWith('/')) {
        // Relative links in the folder's index.html resolve against the folder. (Built from
        // the checked segments: never a `//host` that would send the browser elsewhere.)
        const location = `/${segments.map((segment) => encodeURIComponent(segment)).join('/')}/`;
        response.writeHead(301, { location });
        response.end();
        return;
      }
      await sendFile(join(path, 'index.html'), response, head, root);
      return;
    }
    await sendFile(path, response, head, root);
  }

  return {
    handle(request, response) {
      serve(request, response).catch(() => {
        if (!response.headersSent) plain(response, 500, 'internal error\n', false);
        else response.destroy();
      });
    },
    bundleBuilt: () => isBundleBuilt(bundleDir),
  };
}
