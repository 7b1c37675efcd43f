import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/**
 * Keep-alive connections between our own hops: the gateway to a service, a service to another, the
 * dashboard's server to the gateway. A server closes a connection that has been idle for its keep-alive
 * time; a client that sends a request on that connection at the same moment gets a reset instead of an
 * answer (the gateway answered 502 to 0.9 % of requests under load that way). Two rules close that gap:
 *
 * 1. A client keeps an idle connection for less time than its server does: every service sets
 *    SERVER_KEEP_ALIVE_MS on its server (kit's runtime), and these agents drop a connection after
 *    CLIENT_IDLE_MS idle, or one second before the `Keep-Alive: timeout` a server announces.
 * 2. A request that meets a reset on a reused connection is sent once more, on a new connection, when
 *    repeating it is harmless: a safe method (GET, HEAD, OPTIONS), or one the caller marks idempotent
 *    from its contract. Anything else gets the error: the server may have acted on it.
 *
 * Only node built-ins here: the dashboard's server bundles this file too.
 */

/** How long a service keeps an idle connection open: longer than a load balancer's usual 60 s in front of it. */
export const SERVER_KEEP_ALIVE_MS = 65_000;

/** How long a client keeps an idle connection to one of our servers: well below SERVER_KEEP_ALIVE_MS. */
export const CLIENT_IDLE_MS = 30_000;

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/** What a closed connection looks like to the client that sent on it. */
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

const NULL_BODY_STATUSES = new Set([101, 204, 205, 304]);

export interface UpstreamInit {
  method: string;
  headers?: OutgoingHttpHeaders;
  /** Bytes can be sent again; a stream cannot, so a request with one is never repeated. */
  body?: Uint8Array | Readable;
  /** Repeating it is harmless although its method is not safe (the contract says so, or an Idempotency-Key). */
  idempotent?: boolean;
  /** Ends the request, and the response body once it flows, when aborted (the caller went away). */
  signal?: AbortSignal;
  /** How long the server may take to start answering (the response head); then an UpstreamTimeoutError. */
  headersTimeoutMs?: number;
  /** Told when the request is sent again after a reset of a reused connection (for a log line). */
  onRetry?: (error: NodeJS.ErrnoException) => void;
}

export class UpstreamTimeoutError extends Error {
  override name = 'UpstreamTimeoutError';
  readonly code = 'UPSTREAM_TIMEOUT';
  readonly timeoutMs: number;
  constructor(timeoutMs: number) {
    super(`no response head within ${timeoutMs} ms`);
    this.timeoutMs = timeoutMs;
  }
}

export interface UpstreamOptions {
  /** At most this many connections per server (requests beyond wait for one); unbounded by default. */
  maxSockets?: number;
}

export type UpstreamFetch = (input: string | URL | Request, init?: RequestInit & { idempotent?: boolean }) => Promise<Response>;

export interface Upstream {
  /** Sends a request; resolves with the response as soon as its head arrived (the body streams). */
  request(url: URL, init: UpstreamInit): Promise<IncomingMessage>;
  /**
   * The same as a `fetch` (errors included: TypeError "fetch failed" with the cause, or the signal's
   * reason), for JSON clients and openapi-fetch. `idempotent` marks a non-safe request as repeatable.
   */
  fetch: UpstreamFetch;
  /** Closes the idle connections (a process that stops). */
  close(): void;
}

/** The contract marks the operation idempotent (`x-idempotent: true`, shown in the public document) although its method is not safe. */
export function markedIdempotent(route: object): boolean {
  return (route as Record<string, unknown>)['x-idempotent'] === true;
}

/** True when a request may be sent again after a reset: nothing it carries is lost, and repeating it is harmless. */
export function repeatable(init: Pick<UpstreamInit, 'method' | 'body' | 'idempotent'>): boolean {
  if (init.body instanceof Readable) return false;
  return SAFE_METHODS.has(init.method.toUpperCase()) || init.idempotent === true;
}

/** How one send ended before a response: the error, and whether the connection had carried a request before. */
type Sent = { response: IncomingMessage } | { error: NodeJS.ErrnoException; reused: boolean };

/** Keep-alive agents and the one-retry rule for requests to our own servers (see the top of this file). */
export function createUpstream({ maxSockets = Infinity }: UpstreamOptions = {}): Upstream {
  // `timeout` is what makes Node's agent honour a server's Keep-Alive hint too; without it an idle socket is kept for ever.
  const agents = {
    'http:': new HttpAgent({ keepAlive: true, timeout: CLIENT_IDLE_MS, maxSockets }),
    'https:': new HttpsAgent({ keepAlive: true, timeout: CLIENT_IDLE_MS, maxSockets }),
  };

  /** One attempt. Resolves with the response or the connection's failure; rejects only when the deadline passed. */
  function send(url: URL, init: UpstreamInit, deadline: AbortSignal, fresh: boolean): Promise<Sent> {
    return new Promise((resolve, reject) => {
      const secure = url.protocol === 'https:';
      // A retry takes a connection of its own (agent false: a new one, closed after), never another pooled one.
      const agent = fresh ? false : secure ? agents['https:'] : agents['http:'];
      const outgoing = (secure ? httpsRequest : httpRequest)(url, {
        method: init.method,
        headers: init.headers,
        agent,
        signal: init.signal ? AbortSignal.any([deadline, init.signal]) : deadline,
      });
      let settled = false;
      const settle = (sent: Sent) => {
        if (settled) return;
        settled = true;
        if (deadline.aborted) reject(deadline.reason as Error);
        else resolve(sent);
      };
      outgoing.once('response', (response) => settle({ response }));
      // Kept for the request's whole life: an error after the response (a reset mid-body) must not go unhandled.
      outgoing.on('error', (error: NodeJS.ErrnoException) => settle({ error, reused: outgoing.reusedSocket }));
      const { body } = init;
      if (body instanceof Readable) {
        // A body that cannot be read (too large, the client hung up) ends the request with its own error.
        pipeline(body, outgoing).catch((error: NodeJS.ErrnoException) => settle({ error, reused: false }));
      } else {
        outgoing.end(body);
      }
    });
  }

  async function request(url: URL, init: UpstreamInit): Promise<IncomingMessage> {
    const deadline = new AbortController();
    const timer =
      init.headersTimeoutMs === undefined
        ? undefined
        : setTimeout(() => deadline.abort(new UpstreamTimeoutError(init.headersTimeoutMs as number)), init.headersTimeoutMs);
    try {
      let sent = await send(url, init, deadline.signal, false);
      if ('error' in sent && sent.reused && RESET_CODES.has(sent.error.code ?? '') && repeatable(init) && !init.signal?.aborted) {
        init.onRetry?.(sent.error);
        sent = await send(url, init, deadline.signal, true);
      }
      if ('error' in sent) throw sent.error;
      return sent.response;
    } finally {
      clearTimeout(timer);
    }
  }

  const fetch: UpstreamFetch = async (input, init = {}) => {
    const { idempotent, ...rest } = init;
    const asked = new Request(input, rest);
    const body = asked.body ? new Uint8Array(await asked.arrayBuffer()) : undefined;
    const headers: OutgoingHttpHeaders = {};
    for (const [name, value] of asked.headers) headers[name] = value;
    let response: IncomingMessage;
    try {
      response = await request(new URL(asked.url), {
        method: asked.method,
        headers,
        ...(body ? { body } : {}),
        ...(idempotent === undefined ? {} : { idempotent }),
        signal: asked.signal,
      });
    } catch (error) {
      if (asked.signal.aborted) throw asked.signal.reason;
      throw new TypeError('fetch failed', { cause: error });
    }
    return toResponse(response, asked.method);
  };

  return {
    request,
    fetch,
    close() {
      agents['http:'].destroy();
      agents['https:'].destroy();
    },
  };
}

function headersOf(response: IncomingMessage, drop?: (name: string) => boolean): Headers {
  const headers = new Headers();
  const raw = response.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (!drop?.(name)) headers.append(name, raw[i + 1] as string);
  }
  return headers;
}

/**
 * A fetch Response over a node:http response: status, every header (each Set-Cookie apart) but those
 * `drop` names (a proxy's hop-by-hop ones), the body streamed.
 */
export function toResponse(response: IncomingMessage, method: string, drop?: (name: string) => boolean): Response {
  const status = response.statusCode ?? 502;
  const headers = headersOf(response, drop);
  const empty = method.toUpperCase() === 'HEAD' || NULL_BODY_STATUSES.has(status);
  if (empty) response.resume();
  const body = empty ? null : (Readable.toWeb(response) as ReadableStream<Uint8Array>);
  return new Response(body, { status, statusText: response.statusMessage ?? '', headers });
}

/** The whole body of a node:http response. */
export async function readBody(response: IncomingMessage): Promise<Buffer<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of response) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

/**
 * As `toResponse`, but a body that says its length (`Content-Length`) and is at most `maxBytes` is read
 * whole first and answered as bytes: a web stream over a small JSON answer cost a proxy about 100–150 µs
 * of CPU per request (issue 14, docs/bench.md). A body of unknown length (a stream: SSE) or a larger one
 * streams as before.
 */
export async function toBufferedResponse(
  response: IncomingMessage,
  method: string,
  drop: ((name: string) => boolean) | undefined,
  maxBytes: number,
): Promise<Response> {
  const status = response.statusCode ?? 502;
  const length = Number(response.headers['content-length'] ?? Number.NaN);
  const empty = method.toUpperCase() === 'HEAD' || NULL_BODY_STATUSES.has(status);
  if (empty || !Number.isSafeInteger(length) || length > maxBytes) return toResponse(response, method, drop);
  return new Response(await readBody(response), {
    status,
    statusText: response.statusMessage ?? '',
    headers: headersOf(response, drop),
  });
}
