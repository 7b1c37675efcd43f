import { IncomingMessage } from 'node:http';
import type { RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';
import { BadRequest, PayloadTooLarge, UnsupportedMediaType } from '../problem.ts';
import type { AppEnv } from './app.ts';
import { decodeUtf8Strict, findStringProblem } from './strings.ts';

/**
 * Request bodies, one way for every service (ADR 0013). `strictJsonBody` reads the body once, before any
 * route, counting it against the limit as it comes (413 past it, whether or not a Content-Length said
 * so) and without replacing the request, so what earlier middleware keyed by `c.req.raw` still finds
 * it. Zero bytes is no body, whatever the headers say (`curl -X POST` sends no Content-Length; fetch
 * sends `Content-Length: 0`, often with `Content-Type: application/json`); anything else must be JSON in
 * valid UTF-8 with no NUL and no lone surrogate in any string. `routeWithJsonBody` then checks a contract
 * route's body against its schema here rather than in zod-openapi, whose validators read an empty JSON
 * body as malformed (a 500) and hand a missing optional body to the handler unvalidated.
 */

/** What the request sent: the parsed JSON, or nothing at all (no entry). */
const sentBodies = new WeakMap<Context, { value: unknown }>();

/** Methods whose bodies are only limited, not read as JSON (no route takes one). */
const UNCHECKED = new Set(['OPTIONS', 'DELETE']);
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/** Keeps the body's bytes where Hono's later readers (`c.req.arrayBuffer()`, `c.req.json()`) find them. */
function cacheBody(c: Context, bytes: Uint8Array): ArrayBuffer {
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  (c.req.bodyCache as { arrayBuffer?: Promise<ArrayBuffer> }).arrayBuffer = Promise.resolve(buffer);
  return buffer;
}

/** The body's bytes, refused with 413 as soon as they pass `maxBytes`; later readers get them from Hono's cache. */
async function readLimited(c: Context, body: ReadableStream<Uint8Array>, maxBytes: number): Promise<ArrayBuffer> {
  if (Number(c.req.header('content-length') ?? 0) > maxBytes) throw new PayloadTooLarge(maxBytes);
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel();
      throw new PayloadTooLarge(maxBytes);
    }
    chunks.push(value);
  }
  return cacheBody(c, Buffer.concat(chunks));
}

/**
 * The node request under @hono/node-server (`c.env.incoming`) while nothing has read its body yet;
 * undefined elsewhere (`app.request` in tests, another runtime), where the web Request is read instead.
 */
function unreadIncoming(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: unknown } | undefined)?.incoming;
  return incoming instanceof IncomingMessage && !incoming.readableDidRead ? incoming : undefined;
}

/**
 * As `readLimited`, from the node request itself: the web Request and the web stream over its body that
 * @hono/node-server otherwise builds cost about 25 µs of CPU per request (issue 14, docs/bench.md). Past
 * the limit it stops reading and answers 413, as the web stream's cancel did.
 */
async function readIncomingLimited(c: Context, incoming: IncomingMessage, maxBytes: number): Promise<ArrayBuffer> {
  if (Number(incoming.headers['content-length'] ?? 0) > maxBytes) throw new PayloadTooLarge(maxBytes);
  const bytes = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const settle = (error?: Error) => {
      incoming.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (error) reject(error);
      else resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer) => {
      total += chunk.byteLength;
      if (total > maxBytes) {
        incoming.pause();
        settle(new PayloadTooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => settle();
    const onError = (error: Error) => settle(error);
    const onClose = () => {
      if (!incoming.readableEnded) settle(new Error('the client closed the connection before its request body arrived'));
    };
    incoming.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
  return cacheBody(c, bytes);
}

/** Reads, limits and checks the body of every request that has one; the route validators never see the raw bytes. */
export function strictJsonBody(maxBytes: number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    let bytes: ArrayBuffer;
    const incoming = unreadIncoming(c);
    if (incoming) {
      // As the web Request has it: a GET or HEAD has no body (node-server builds none), whatever it sent.
      if (c.req.method === 'GET' || c.req.method === 'HEAD') return next();
      bytes = await readIncomingLimited(c, incoming, maxBytes);
    } else {
      const body = c.req.raw.body;
      if (body === null) return next();
      bytes = await readLimited(c, body, maxBytes);
    }
    if (bytes.byteLength === 0 || UNCHECKED.has(c.req.method)) return next();
    const type = c.req.header('content-type') ?? '';
    if (!JSON_TYPE.test(type)) {
      throw new UnsupportedMediaType(
        `Send the body as JSON with \`Content-Type: application/json\` (got ${JSON.stringify(type || 'none')}).`,
      );
    }
    const charset = /charset=([^;]+)/i.exec(type)?.[1]?.trim().toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      throw new UnsupportedMediaType(`JSON bodies must be UTF-8 (got charset=${charset}).`);
    }
    const text = decodeUtf8Strict(bytes);
    if (text === undefined) throw new BadRequest('The request body is not valid UTF-8.');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new BadRequest(`The request body is not valid JSON: ${(error as Error).message}`);
    }
    const problem = findStringProblem(value);
    if (problem) throw new BadRequest(`${problem.field}: ${problem.message}`, [problem]);
    sentBodies.set(c, { value });
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    return next();
  };
}

/** What answers a failed validation (kit's `validationHook`, or a route's own). */
export type ValidationHook = (
  result: { target: string; success: boolean; data?: unknown; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context<AppEnv>,
) => Response | undefined | void | Promise<Response | undefined | void>;

/** Validates the body `strictJsonBody` read against the route's schema, as `c.req.valid('json')` then gives it. */
function jsonBodyValidator(schema: ZodType, required: boolean, hook: ValidationHook): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const sent = sentBodies.get(c);
    if (!sent && required) {
      throw new BadRequest('This request needs a JSON body (`Content-Type: application/json`); none was sent.', [
        { field: 'body', message: 'required; send a JSON body' },
      ]);
    }
    // A missing optional body is read as `{}`, so the handler gets the schema's defaults either way.
    const result = await schema.safeParseAsync(sent ? sent.value : {});
    const answer = await hook({ ...result, target: 'json' }, c);
    if (answer instanceof Response) return answer;
    c.req.addValidatedData('json', result.data as object);
    return next();
  };
}

/**
 * The route as zod-openapi should mount it: a JSON body is left out of its validators and checked by
 * `jsonBodyValidator` after the route's own middleware (access before body). The document still shows
 * the body: `register` puts the route, as given, into it.
 */
export function routeWithJsonBody<R extends RouteConfig>(
  route: R,
  hook: ValidationHook,
  register: (route: RouteConfig) => void,
): R {
  const body = route.request?.body;
  const content = body?.content ?? {};
  const media = content['application/json'];
  const schema = media && 'schema' in media ? media.schema : undefined;
  if (!body || Object.keys(content).length !== 1 || !isZod(schema)) return route;
  const { middleware, hide, ...documented } = route;
  if (!hide) register(documented);
  const { body: _documentedOnly, ...request } = route.request ?? {};
  const before = middleware === undefined ? [] : Array.isArray(middleware) ? middleware : [middleware];
  return { ...route, hide: true, request, middleware: [...before, jsonBodyValidator(schema, body.required === true, hook)] };
}

function isZod(schema: unknown): schema is ZodType {
  return typeof schema === 'object' && schema !== null && 'safeParseAsync' in schema;
}
