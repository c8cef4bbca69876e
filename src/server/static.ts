import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webp': 'image/webp',
  '.woff2': 'font/woff2',
};

/** Serves a request, or returns false when it is not for static files (it is left untouched). */
export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => boolean;

/**
 * Serves the files under `root` (the built live view, dist/web) for GET and HEAD:
 *
 * - `/` is `index.html`; other paths map to files by their URL path, percent-decoded.
 * - Paths under `/graphql` and `/health` are not taken (false): they belong to yoga.
 * - A path that would leave `root` (`..`, encoded or not), names a dotfile or a directory, or has
 *   no file is a 404; other methods get 405. Nothing outside `root` is ever read.
 * - Content types by extension (unknown: application/octet-stream), `nosniff`. Files under
 *   `/assets/` have hashed names and are cached for a year; everything else is revalidated.
 * - When `root` has no index.html (the view is not built), `/` is a 404 saying how to build it.
 */
export function createStaticHandler(root: string): StaticHandler {
  const base = resolve(root);
  return function serveStatic(req, res) {
    const path = (req.url ?? '/').split('?', 1)[0]!;
    if (path === '/graphql' || path.startsWith('/graphql/') || path === '/health') return false;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return true;
    }
    const file = fileFor(base, path === '/' ? '/index.html' : path);
    if (file === undefined) {
      notFound(res, path);
      return true;
    }
    stat(file).then(
      (info) => {
        if (!info.isFile()) return notFound(res, path);
        res.writeHead(200, {
          'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
          'content-length': info.size,
          'cache-control': path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache',
          'last-modified': info.mtime.toUTCString(),
          'x-content-type-options': 'nosniff',
        });
        if (req.method === 'HEAD') return void res.end();
        createReadStream(file)
          .on('error', () => res.destroy())
          .pipe(res);
      },
      () => notFound(res, path),
    );
    return true;
  };

  function notFound(res: ServerResponse, path: string): void {
    const hint = path === '/' ? 'the live view is not built: run `npm run build:web` (npm install and npm start build it too); GraphiQL is at /graphql\n' : 'not found\n';
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8', 'x-content-type-options': 'nosniff' }).end(hint);
  }
}

/** The file under `base` that a URL path names, or undefined when it is malformed, leaves `base` or names a dotfile. */
function fileFor(base: string, path: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(path);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return undefined;
  const segments = decoded.split('/').filter((segment) => segment !== '');
  if (segments.some((segment) => segment.startsWith('.'))) return undefined;
  const file = resolve(join(base, ...segments));
  return file.startsWith(base + sep) ? file : undefined;
}
