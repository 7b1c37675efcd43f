import { randomUUID } from 'node:crypto';
import { OpenAPIHono } from '@hono/zod-openapi';
import type { Context, MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { Logger } from '../logger.ts';
import {
  BadRequest,
  HttpProblem,
  NotFound,
  PayloadTooLarge,
  PROBLEM_CONTENT_TYPE,
  Unprocessable,
  UnsupportedMediaType,
  type FieldProblem,
  type Problem,
} from '../problem.ts';
import { mountHealth, type ReadinessCheck } from './health.ts';
import { requireIdentity, type Identity } from './identity.ts';
import { decodeUtf8Strict, findStringProblem } from './strings.ts';

export const MAX_BODY_BYTES = 1024 * 1024;

/** What every request carries through the middleware of a service. */
export interface AppEnv {
  Variables: {
    requestId: string;
    log: Logger;
    identity: Identity;
  };
}

export type ServiceApp = OpenAPIHono<AppEnv>;

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** A problem+json response; the one place error bodies are made. */
export function problemResponse(c: Context, problem: Problem, headers: Record<string, string> = {}): Response {
  return c.newResponse(JSON.stringify(problem), problem.status as 400, { ...headers, 'Content-Type': PROBLEM_CONTENT_TYPE });
}

/**
 * The zod-openapi hook: a request that fails its route's schema gets every problem at once, by field.
 * A body that does not fit is 422; a bad path, query or header is 400.
 */
export function validationHook(
  result: { target: string; success: boolean; error?: { issues: { path: PropertyKey[]; message: string }[] } },
  c: Context<AppEnv>,
): Response | undefined {
  if (result.success || !result.error) return undefined;
  const place = result.target === 'json' ? 'body' : result.target;
  const errors: FieldProblem[] = result.error.issues.map((issue) => ({
    field: [place, ...issue.path.map(String)].join('.'),
    message: issue.message,
  }));
  const detail = errors.map((e) => `${e.field}: ${e.message}`).join('; ');
  const problem = result.target === 'json' ? new Unprocessable(detail, errors) : new BadRequest(detail, errors);
  return problemResponse(c, problem.toProblem(c.get('requestId')));
}

/**
 * Reads a JSON body the strict way (ADR 0013): UTF-8 that does not decode is a 400, never replaced;
 * NUL and lone surrogates in any string are refused; nesting is bounded. The checked text is put where
 * the route validators read it, so they never see the raw bytes.
 */
export function strictJsonBody(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const method = c.req.method;
    if (method === 'GET' || method === 'HEAD' || method === 'OPTIONS' || method === 'DELETE') return next();
    if (c.req.raw.body === null || c.req.header('content-length') === '0') return next();
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/([a-z0-9.+-]*\+)?json\s*(;|$)/i.test(type)) {
      throw new UnsupportedMediaType(
        `Send the body as JSON with \`Content-Type: application/json\` (got ${JSON.stringify(type || 'none')}).`,
      );
    }
    const charset = /charset=([^;]+)/i.exec(type)?.[1]?.trim().toLowerCase();
    if (charset && charset !== 'utf-8' && charset !== 'utf8') {
      throw new UnsupportedMediaType(`JSON bodies must be UTF-8 (got charset=${charset}).`);
    }
    const text = decodeUtf8Strict(await c.req.arrayBuffer());
    if (text === undefined) throw new BadRequest('The request body is not valid UTF-8.');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new BadRequest(`The request body is not valid JSON: ${(error as Error).message}`);
    }
    const problem = findStringProblem(parsed);
    if (problem) throw new BadRequest(`${problem.field}: ${problem.message}`, [problem]);
    (c.req.bodyCache as { text?: Promise<string> }).text = Promise.resolve(text);
    return next();
  };
}

export interface ServiceAppOptions {
  service: string;
  log: Logger;
  /** Middleware that runs after the common ones and before the routes (e.g. identity). */
  guard?: MiddlewareHandler<AppEnv>;
  maxBodyBytes?: number;
}

/**
 * A Hono app with what every service shares: request ids, request logs, body limit, strict JSON,
 * problem+json for every error, the zod-openapi validation hook. No side effects: tests call
 * `app.request('/x')` without a port.
 */
export function createServiceApp({ service, log, guard, maxBodyBytes = MAX_BODY_BYTES }: ServiceAppOptions): ServiceApp {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });

  app.use(async (c, next) => {
    const incoming = c.req.header('x-request-id');
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : randomUUID();
    const reqLog = log.child({ reqId: requestId });
    c.set('requestId', requestId);
    c.set('log', reqLog);
    const started = performance.now();
    await next();
    c.header('X-Request-Id', requestId);
    const path = c.req.path;
    const quiet = path === '/healthz' || path === '/readyz';
    reqLog[quiet ? 'debug' : 'info'](
      { method: c.req.method, path, status: c.res.status, ms: Math.round((performance.now() - started) * 10) / 10 },
      'request',
    );
  });

  app.use(
    bodyLimit({
      maxSize: maxBodyBytes,
      onError: () => {
        throw new PayloadTooLarge(maxBodyBytes);
      },
    }),
  );
  app.use(strictJsonBody());
  if (guard) app.use(guard);

  app.notFound((c) =>
    problemResponse(
      c,
      new NotFound(`No route ${c.req.method} ${c.req.path} on the ${service} service.`).toProblem(c.get('requestId')),
    ),
  );

  app.onError((error, c) => {
    const requestId = c.get('requestId');
    if (error instanceof HttpProblem) return problemResponse(c, error.toProblem(requestId), error.headers);
    (c.get('log') ?? log).error({ err: error }, 'unhandled error');
    return problemResponse(c, {
      type: 'https://llmops.dev/problems/internal',
      title: 'Internal error',
      status: 500,
      detail: `Something went wrong on the ${service} service. Quote request id ${requestId} when you report it.`,
      instance: requestId,
    });
  });

  return app;
}

export interface InternalAppOptions extends InternalDeps {
  service: string;
}

/** What an internal service's app is built from. */
export interface InternalDeps {
  log: Logger;
  /** Verifies the identity the gateway and other services send (ADR 0006). */
  internalSecret: string;
  readiness: Record<string, ReadinessCheck>;
}

/** The app of an internal service: the common middleware, the identity guard, /healthz and /readyz. */
export function createInternalApp({ service, log, internalSecret, readiness }: InternalAppOptions): ServiceApp {
  const app = createServiceApp({ service, log, guard: requireIdentity(internalSecret, service) });
  mountHealth(app, service, readiness);
  return app;
}
