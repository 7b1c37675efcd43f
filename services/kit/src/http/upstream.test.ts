import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExpiringServer, type ExpiringServer } from '../testing/expiring-server.ts';
import { createUpstream, type Upstream } from './upstream.ts';

const retries: string[] = [];

async function text(upstream: Upstream, url: string, method: string, idempotent?: boolean): Promise<string> {
  const response = await upstream.request(new URL(url), {
    method,
    onRetry: (error) => retries.push(`${method} ${error.code}`),
    ...(method === 'GET' ? {} : { body: new TextEncoder().encode('{}') }),
    ...(idempotent === undefined ? {} : { idempotent }),
  });
  response.setEncoding('utf8');
  let body = '';
  for await (const chunk of response) body += chunk as string;
  return body;
}

describe('requests to our own servers over keep-alive connections', () => {
  let server: ExpiringServer;
  let upstream: Upstream;

  beforeAll(async () => {
    server = await startExpiringServer((req, res) => {
      if (req.url === '/reset') return req.socket.resetAndDestroy();
      req.resume();
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`${req.method} ${req.url}`);
    });
  });
  afterEach(() => upstream?.close());
  afterAll(() => server?.close());

  /** One request to warm a connection, then the connection expires on the server while the client keeps it. */
  async function expiredConnection(): Promise<void> {
    upstream = createUpstream();
    expect(await text(upstream, `${server.url}/warm`, 'GET')).toBe('GET /warm');
    await server.lastConnectionExpired();
  }

  it('sends a GET once more, on a new connection, when the reused one is reset as it arrives', async () => {
    await expiredConnection();
    const before = server.connections();
    expect(await text(upstream, `${server.url}/read`, 'GET')).toBe('GET /read');
    expect(server.seen.filter((line) => line === 'GET /read')).toHaveLength(2);
    expect(server.connections()).toBe(before + 1);
    expect(retries.at(-1)).toBe('GET ECONNRESET');
  });

  it('never repeats a POST: its caller gets the reset (the server may have acted on it)', async () => {
    await expiredConnection();
    const failed = await text(upstream, `${server.url}/write`, 'POST').catch((error: NodeJS.ErrnoException) => error);
    expect(failed).toBeInstanceOf(Error);
    expect((failed as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(server.seen.filter((line) => line === 'POST /write')).toHaveLength(1);
  });

  it('repeats a POST its contract marks idempotent', async () => {
    await expiredConnection();
    expect(await text(upstream, `${server.url}/render`, 'POST', true)).toBe('POST /render');
    expect(server.seen.filter((line) => line === 'POST /render')).toHaveLength(2);
  });

  it('does not repeat a request whose new connection was reset: that server is failing, not closing an idle connection', async () => {
    upstream = createUpstream();
    const failed = await text(upstream, `${server.url}/reset`, 'GET').catch((error: NodeJS.ErrnoException) => error);
    expect((failed as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(server.seen.filter((line) => line === 'GET /reset')).toHaveLength(1);
  });

  it('gives fetch callers the same: a Response, retried once on a reset reused connection', async () => {
    await expiredConnection();
    const response = await upstream.fetch(`${server.url}/fetched`);
    expect(response.status).toBe(200);
    expect(await response.text()).toBe('GET /fetched');
    const failed = await upstream.fetch('http://127.0.0.1:1/nothing-here').catch((error: Error) => error);
    expect(failed).toBeInstanceOf(TypeError);
    expect(((failed as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('drops an idle connection before the server that announced its keep-alive time does', async () => {
    // The server keeps idle connections 2 s (and says so); the client must let go first, at 2 s less its 1 s margin.
    const announcing = createServer((_req, res) => res.end('ok'));
    announcing.keepAliveTimeout = 2_000;
    announcing.listen(0, '127.0.0.1');
    await once(announcing, 'listening');
    const address = announcing.address();
    const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/`;
    upstream = createUpstream();
    const connected = once(announcing, 'connection') as Promise<[Socket]>;
    const response = await upstream.request(new URL(url), { method: 'GET' });
    expect(response.headers['keep-alive']).toBe('timeout=2');
    response.resume();
    const [socket] = await connected;
    // Whichever comes first: the client's end of the connection (it let go), or the server's own idle timer.
    const first = await Promise.race([
      once(socket, 'end').then(() => 'the client closed it'),
      once(socket, 'timeout').then(() => 'the server timed it out'),
    ]);
    expect(first).toBe('the client closed it');
    announcing.close();
  });
});
