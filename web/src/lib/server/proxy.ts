import type { IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { Readable } from 'node:stream';
import type { ReadableStream as NodeReadableStream } from 'node:stream/web';
import type { RequestEvent } from '@sveltejs/kit';
import { GATEWAY_URL } from '$app/env/private';
import { toResponse, UpstreamTimeoutError } from '@llmops/kit/http/upstream';
import { forwardedHeaders, isForwardingHeader } from './forwarded.ts';
import { errorFields, log } from './log.ts';
import { problemResponse } from './problem.ts';
import { upstream } from './upstream.ts';

/**
 * The browser sees one origin (ADR 0008): every /api/* request is passed to the gateway as it came
 * (method, path, query, headers including cookies, body) and its answer comes back as it goes (status,
 * headers including every Set-Cookie, body streamed chunk by chunk, so server-sent events are not
 * buffered). node:http rather than fetch (through kit's upstream: keep-alive and one retry of a read on
 * a reset reused connection): no automatic decompression, no body timeout to cut a quiet event stream,
 * and raw response headers.
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

/** How long the gateway may take to start answering (headers); a stream may then stay open for ever. */
const RESPONSE_HEADERS_TIMEOUT_MS = 60_000;

/** A synchronous read (`GET /api/v1/tasks/{id}?wait=N`, N ≤ 60) answers only after up to N seconds: it gets them on top. */
function headersTimeoutMs(url: URL): number {
  const wait = Number(url.searchParams.get('wait') ?? 0);
  return RESPONSE_HEADERS_TIMEOUT_MS + (Number.isFinite(wait) ? Math.min(Math.max(wait, 0), 60) * 1000 : 0);
}

const gateway = new URL(GATEWAY_URL);

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

/** The answer as it came, less the hop-by-hop headers (and those its Connection header names). */
function answer(response: IncomingMessage, method: string): Response {
  const dropped = connectionTokens(response.headers.connection);
  const proxied = toResponse(response, method, (name) => HOP_BY_HOP.has(name) || dropped.has(name));
  if (!proxied.body || !/^text\/event-stream\b/i.test(response.headers['content-type'] ?? '')) return proxied;
  return new Response(endingCleanly(proxied.body), {
    status: proxied.status,
    statusText: proxied.statusText,
    headers: proxied.headers,
  });
}

/**
 * An event stream the gateway drops mid-way (it is stopped, it restarts) ends here as any stream ends. The
 * browser's EventSource reconnects after an end as after an error (the live layer resumes from the last
 * event id either way); a cut connection would instead end in a truncated chunk, which the browser reports
 * on the console as net::ERR_INCOMPLETE_CHUNKED_ENCODING. Other answers keep their error: a truncated JSON
 * body must not look complete.
 */
function endingCleanly(body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch {
        controller.close();
      }
    },
    cancel: (reason) => reader.cancel(reason),
  });
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
export async function proxyToGateway(event: RequestEvent): Promise<Response> {
  const { request } = event;
  // The request's own URL, not event.url, from which SvelteKit strips its own suffixes and parameters.
  const url = new URL(request.url);
  const target = new URL(url.pathname + url.search, gateway);
  const started = performance.now();
  const timeoutMs = headersTimeoutMs(url);
  try {
    const response = await upstream.request(target, {
      method: request.method,
      headers: requestHeaders(event),
      // Streamed as it comes (such a request is never sent twice; reads have no body).
      ...(request.body ? { body: Readable.fromWeb(request.body as NodeReadableStream) } : {}),
      // The browser went away (closed an event stream, navigated): stop the gateway's work too.
      signal: request.signal,
      headersTimeoutMs: timeoutMs,
      onRetry: (error) =>
        log.warn({ code: error.code, method: request.method, path: url.pathname }, 'gateway connection reset; sent again'),
    });
    log.debug(
      { method: request.method, path: url.pathname, status: response.statusCode, ms: Math.round(performance.now() - started) },
      'proxied',
    );
    return answer(response, request.method);
  } catch (error) {
    if (error instanceof UpstreamTimeoutError) {
      return problemResponse(
        504,
        'gateway-timeout',
        'Gateway timeout',
        `The LLM Ops gateway did not start answering within ${timeoutMs / 1000} s.`,
      );
    }
    // The request body could not be read (adapter-node's BODY_SIZE_LIMIT, a client that hung up).
    if ((error as { status?: unknown }).status === 413) {
      return problemResponse(
        413,
        'payload-too-large',
        'Payload too large',
        'The request body is larger than the dashboard server accepts (its BODY_SIZE_LIMIT).',
      );
    }
    // Nobody is left to read an answer.
    if (request.signal.aborted) return new Response(null, { status: 499 });
    log.warn({ ...errorFields(error), method: request.method, path: url.pathname, gateway: GATEWAY_URL }, 'gateway unreachable');
    return unreachable((error as NodeJS.ErrnoException).code);
  }
}
