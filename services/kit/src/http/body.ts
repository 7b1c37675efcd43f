import type { RouteConfig } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import type { ZodType } from 'zod';
import { BadRequest, UnsupportedMediaType } from '../problem.ts';
import type { AppEnv } from './app.ts';
import { decodeUtf8Strict, findStringProblem } from './strings.ts';

/**
 * Request bodies, one way for every service (ADR 0013). `strictJsonBody` reads the body once, before any
 * route: zero bytes is no body, whatever the headers say (`curl -X POST` sends no Content-Length; fetch
 * sends `Content-Length: 0`, often with `Content-Type: application/json`); anything else must be JSON in
 * valid UTF-8 with no NUL and no lone surrogate in any string. `routeWithJsonBody` then checks a contract
 * route's body against its schema here rather than in zod-openapi, whose validators read an empty JSON
 * body as malformed (a 500) and hand a missing optional body to the handler unvalidated.
 */

/** What the request sent: the parsed JSON, or nothing at all (no entry). */
const sentBodies = new WeakMap<Context, { value: unknown }>();

const WITHOUT_BODY = new Set(['GET', 'HEAD', 'OPTIONS', 'DELETE']);
const JSON_TYPE = /^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i;

/** Reads and checks the body of every request that may have one; the route validators never see the raw bytes. */
export function strictJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (WITHOUT_BODY.has(c.req.method) || c.req.raw.body === null) return next();
    const bytes = await c.req.arrayBuffer();
    if (bytes.byteLength === 0) return next();
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
