import { Agent as HttpAgent, request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import { pipeline } from 'node:stream/promises';
import type { RequestEvent } from '@sveltejs/kit';
import { GATEWAY_URL } from '$app/env/private';
import { forwardedHeaders, isForwardingHeader } from './forwarded.ts';
import { errorFields, log } from './log.ts';
import { problemResponse } from './problem.ts';

/**
 * The browser sees one origin (ADR 0008): every /api/* request is passed to the gateway as it came
 * (method, path, query, headers including cookies, body) and its answer comes back as it goes (status,
 * headers including every Set-Cookie, body streamed chunk by chunk, so server-sent events are not
 * buffered). node:http rather than fetch: no automatic decompression, no body timeout to cut a quiet
 * event stream, and raw response headers.
 */

/** Connection-level headers (RFC 9110 §7.6.1) that one hop must not pass to the next. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** Statuses whose responses have no body. */
const NULL_BODY = new Set([204, 205, 304]);

/** How long the gateway may take to start answering (headers); a stream may then stay open for ever. */
const RESPONSE_HEADERS_TIMEOUT_MS = 60_000;

/** A synchronous read (`GET /api/v1/tasks/{id}?wait=N`, N ≤ 60) answers only after up to N seconds: it gets them on top. */
function headersTimeoutMs(url: URL): number {
  const wait = Number(url.searchParams.get('wait') ?? 0);
  return RESPONSE_HEADERS_TIMEOUT_MS + (Number.isFinite(wait) ? Math.min(Math.max(wait, 0), 60) * 1000 : 0);
}

const gateway = new URL(GATEWAY_URL);
const secure = gateway.protocol === 'https:';
const agent = secure ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });

export function isApiPath(pathname: string): boolean {
  return pathname === '/api' || pathname.startsWith('/api/');
}

/** Headers named by a Connection header are hop-by-hop too. */
function connectionTokens(value: string | null | undefined): Set<string> {
  return new Set(
    (value ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
}

function requestHeaders(event: RequestEvent): OutgoingHttpHeaders {
  const incoming = event.request.headers;
  const dropped = connectionTokens(incoming.get('connection'));
  const headers: OutgoingHttpHeaders = {};
  for (const [name, value] of incoming) {
    if (HOP_BY_HOP.has(name) || dropped.has(name) || name === 'host' || isForwardingHeader(name)) continue;
    headers[name] = value;
  }
  Object.assign(headers, forwardedHeaders(event));
  return headers;
}

function responseHeaders(upstream: IncomingMessage): Headers {
  const dropped = connectionTokens(upstream.headers.connection);
  const headers = new Headers();
  const raw = upstream.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (HOP_BY_HOP.has(name) || dropped.has(name)) continue;
    headers.append(name, raw[i + 1] as string); // append keeps each Set-Cookie separate
  }
  return headers;
}

function toResponse(upstream: IncomingMessage, method: string): Response {
  const status = upstream.statusCode ?? 502;
  const empty = method === 'HEAD' || NULL_BODY.has(status);
  if (empty) upstream.resume();
  const body = empty ? null : (Readable.toWeb(upstream) as ReadableStream<Uint8Array>);
  return new Response(body, { status, statusText: upstream.statusMessage, headers: responseHeaders(upstream) });
}

function unreachable(code: string | undefined): Response {
  return problemResponse(
    502,
    'gateway-unreachable',
    'Gateway unreachable',
    `The dashboard could not reach the LLM Ops gateway${code ? ` (${code})` : ''}. ` +
      'Check that the gateway is running (`npm start` starts every part) and that GATEWAY_URL points at it.',
  );
}

/** Passes one /api request to the gateway and returns its answer, or a 502/504 problem when there is none. */
export function proxyToGateway(event: RequestEvent): Promise<Response> {
  const { request } = event;
  // The request's own URL, not event.url, from which SvelteKit strips its own suffixes and parameters.
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, gateway);
  const started = performance.now();
  const timeoutMs = headersTimeoutMs(url);

  return new Promise<Response>((resolve) => {
    let settled = false;
    let bodyError: unknown;
    const settle = (response: Response) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(response);
    };

    const outgoing = (secure ? httpsRequest : httpRequest)(target, {
      method: request.method,
      headers: requestHeaders(event),
      agent,
      // The browser went away (closed an event stream, navigated): stop the gateway's work too.
      signal: request.signal,
    });

    const timer = setTimeout(() => {
      outgoing.destroy(new Error('no response headers in time'));
      settle(
        problemResponse(
          504,
          'gateway-timeout',
          'Gateway timeout',
          `The LLM Ops gateway did not start answering within ${timeoutMs / 1000} s.`,
        ),
      );
    }, timeoutMs);

    outgoing.on('response', (upstream) => {
      log.debug(
        { method: request.method, path: url.pathname, status: upstream.statusCode, ms: Math.round(performance.now() - started) },
        'proxied',
      );
      settle(toResponse(upstream, request.method));
    });

    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (settled || request.signal.aborted) return;
      // The request body could not be read (adapter-node's BODY_SIZE_LIMIT, a client that hung up).
      const status = (bodyError as { status?: unknown } | undefined)?.status;
      if (status === 413) {
        settle(
          problemResponse(
            413,
            'payload-too-large',
            'Payload too large',
            'The request body is larger than the dashboard server accepts (its BODY_SIZE_LIMIT).',
          ),
        );
        return;
      }
      log.warn(
        { ...errorFields(error), method: request.method, path: url.pathname, gateway: GATEWAY_URL },
        'gateway unreachable',
      );
      settle(unreachable(error.code));
    });

    if (request.body) {
      const source = Readable.fromWeb(request.body as NodeReadableStream);
      source.once('error', (error) => {
        bodyError = error;
      });
      // pipeline destroys `outgoing` on a failure, which lands in the 'error' handler above.
      pipeline(source, outgoing).catch(() => {});
    } else {
      outgoing.end();
    }
  });
}
