import { once } from 'node:events';
import { createServer } from 'node:http';
import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startExpiringServer, type ExpiringServer } from '../testing/expiring-server.ts';
import { createUpstream, toBufferedResponse, type Upstream } from './upstream.ts';

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

describe('answers handed on whole or streamed', () => {
  it('reads a short answer of known length whole, and streams one of unknown length or over the bound', async () => {
    let release: () => void = () => {};
    const released = new Promise<void>((resolve) => (release = resolve));
    const server = createServer((req, res) => {
      req.resume();
      if (req.url === '/stream') {
        // Chunked, and its end waits for the test: only a streamed answer can be handed on before it.
        res.writeHead(200, { 'content-type': 'text/event-stream', 'x-hop': 'dropped' });
        res.write('data: first\n\n');
        void released.then(() => res.end('data: last\n\n'));
        return;
      }
      const body = req.url === '/long' ? 'x'.repeat(2_000) : '{"ok":true}';
      res.writeHead(201, { 'content-type': 'application/json', 'content-length': String(body.length), 'x-hop': 'dropped' });
      res.end(body);
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    const upstream = createUpstream();
    const drop = (name: string) => name === 'x-hop';
    try {
      const short = await toBufferedResponse(
        await upstream.request(new URL(`${base}/short`), { method: 'GET' }),
        'GET',
        drop,
        1_000,
      );
      expect(short.status).toBe(201);
      expect(short.headers.get('x-hop')).toBeNull();
      expect(short.headers.get('content-type')).toBe('application/json');
      expect(await short.text()).toBe('{"ok":true}');
      const long = await toBufferedResponse(
        await upstream.request(new URL(`${base}/long`), { method: 'GET' }),
        'GET',
        drop,
        1_000,
      );
      expect((await long.text()).length).toBe(2_000);
      const stream = await toBufferedResponse(
        await upstream.request(new URL(`${base}/stream`), { method: 'GET' }),
        'GET',
        drop,
        1_000,
      );
      const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
      expect(new TextDecoder().decode((await reader.read()).value)).toBe('data: first\n\n');
      release();
      let rest = '';
      for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
        rest += new TextDecoder().decode(chunk.value);
      expect(rest).toBe('data: last\n\n');
    } finally {
      release();
      upstream.close();
      server.closeAllConnections();
      server.close();
    }
  });
});
