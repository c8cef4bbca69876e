import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../utils/server.ts';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A request whose path goes out exactly as written (fetch would normalise `..` away). */
function raw(base: string, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<RawResponse> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method: options.method ?? 'GET', headers: options.headers ?? {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the live view\'s static files', () => {
  let dir: string;
  let server: TestServer;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'flowcast-static-'));
    const web = join(dir, 'web');
    mkdirSync(join(web, 'assets'), { recursive: true });
    writeFileSync(join(web, 'index.html'), '<!doctype html><title>live view</title>');
    writeFileSync(join(web, 'assets', 'app-1a2b.js'), 'console.log("app")');
    writeFileSync(join(web, 'assets', 'app-1a2b.css'), 'body{}');
    writeFileSync(join(web, 'favicon.svg'), '<svg/>');
    writeFileSync(join(web, '.build-stamp'), 'secret-ish');
    writeFileSync(join(dir, 'outside.txt'), 'must not be served');
    server = await startTestServer({}, { webDir: web });
  });
  afterAll(async () => {
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves index.html at / and files by path, with their content types', async () => {
    const index = await raw(server.url, '/');
    expect(index).toMatchObject({ status: 200, body: '<!doctype html><title>live view</title>' });
    expect(index.headers).toMatchObject({ 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    expect((await raw(server.url, '/index.html?run=run_1')).status).toBe(200);
    expect((await raw(server.url, '/?run=run_1')).body).toContain('live view');

    const js = await raw(server.url, '/assets/app-1a2b.js');
    expect(js).toMatchObject({ status: 200, body: 'console.log("app")' });
    expect(js.headers).toMatchObject({ 'content-type': 'text/javascript; charset=utf-8', 'cache-control': 'public, max-age=31536000, immutable' });
    expect((await raw(server.url, '/assets/app-1a2b.css')).headers['content-type']).toBe('text/css; charset=utf-8');
    expect((await raw(server.url, '/favicon.svg')).headers['content-type']).toBe('image/svg+xml');

    const head = await raw(server.url, '/assets/app-1a2b.js', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(String('console.log("app")'.length));
  });

  it('never leaves its directory, serves no dotfiles or directories, and 404s what is not there', async () => {
    for (const path of ['/../outside.txt', '/assets/../../outside.txt', '/%2e%2e/outside.txt', '/assets/..%2f..%2foutside.txt', '/..%5coutside.txt', '/.build-stamp', '/assets', '/assets/', '/nope.js', '/%E0%A4%A', '/a%00b']) {
      const response = await raw(server.url, path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('must not be served');
    }
    expect((await raw(server.url, '/', { method: 'POST' })).status).toBe(405);
  });

  it('leaves /graphql to GraphQL, and GraphiQL there needs no network', async () => {
    expect(await server.gql('{ health { ok } }')).toEqual({ data: { health: { ok: true } } });
    const graphiql = await raw(server.url, '/graphql', { headers: { accept: 'text/html' } });
    expect(graphiql.status).toBe(200);
    expect(graphiql.headers['content-type']).toMatch(/^text\/html/);
    expect(graphiql.body).toContain('YogaGraphiQL.renderYogaGraphiQL');
    expect(graphiql.body).not.toMatch(/<script src=["']?https?:|<link[^>]+href=["']?https?:/);
  });
});

describe('a server whose live view is not built', () => {
  it('says at / how to build it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'flowcast-static-'));
    const server = await startTestServer({}, { webDir: join(dir, 'missing') });
    try {
      const response = await raw(server.url, '/');
      expect(response.status).toBe(404);
      expect(response.body).toContain('npm run build:web');
    } finally {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
