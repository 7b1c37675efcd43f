import type { RouteConfig } from '@hono/zod-openapi';
import type { z } from 'zod';
import { ServiceUnavailable, type Problem } from '../problem.ts';
import type { ServiceName } from '../services.ts';
import { createIdentitySigner, IDENTITY_HEADER, ON_BEHALF_OF_HEADER } from './identity.ts';
import { createUpstream, markedIdempotent, readBody, type Upstream, type UpstreamFetch } from './upstream.ts';

/**
 * Calls another service through the route objects of its contract (ADR 0005): the path, method, params,
 * query and body are the route's, typed from its schemas, and so is the body of its success answer. No
 * caller writes a path or a body type by hand.
 *
 * - 2xx: `{ ok: true, status, body }`, the body typed from the route's 200 (or 201) JSON schema.
 * - Any other 4xx: `{ ok: false, status, problem }`, the service's problem+json, for the caller to judge
 *   (a 404 may be an answer, a 422 lists the fields).
 * - No answer (refused, reset, timed out), a 5xx or a 429 (the service is busy): a ServiceUnavailable
 *   (503) with Retry-After, thrown: nothing is decided on a guess.
 *
 * The call is signed with the caller's service identity (kit's signer: one assertion per 30 s) and goes
 * over kit's upstream transport: keep-alive within the service's idle time, and one more try on a new
 * connection after a reset when the route is safe or marked `x-idempotent`.
 */

type JsonSchemaOf<Part> = Part extends { content: { 'application/json': { schema: infer S extends z.ZodType } } } ? S : never;
type RequestOf<R extends RouteConfig> = NonNullable<R['request']>;
type InputOf<S> = S extends z.ZodType ? z.input<S> : never;
/** A part the caller must give when its schema requires anything, and may leave out otherwise. */
type Given<Name extends string, T> = [T] extends [never]
  ? { [K in Name]?: never }
  : object extends T
    ? { [K in Name]?: T }
    : { [K in Name]: T };

export type CallInput<R extends RouteConfig> = Given<'params', InputOf<RequestOf<R>['params']>> &
  Given<'query', InputOf<RequestOf<R>['query']>> &
  Given<'body', InputOf<JsonSchemaOf<RequestOf<R>['body']>>> & {
    /** The request id of the work this call serves: logged by both services under the same id. */
    requestId: string;
    /** Whom the call is made for (`account:<id>`, `service:<name>`): the called service bounds its work per such caller. */
    onBehalfOf?: string;
  };

type SuccessStatus<R extends RouteConfig> = Extract<keyof R['responses'], 200 | 201>;

/** The JSON body of the route's success answer, as the service writes it. */
export type SuccessBody<R extends RouteConfig> = z.output<JsonSchemaOf<R['responses'][SuccessStatus<R>]>>;

export type ServiceAnswer<R extends RouteConfig> =
  { ok: true; status: SuccessStatus<R>; body: SuccessBody<R> } | { ok: false; status: number; problem: Problem };

export interface ServiceClient {
  call<R extends RouteConfig>(route: R, input: CallInput<R>): Promise<ServiceAnswer<R>>;
}

export interface ServiceClientOptions {
  /** The calling service: the subject of the signed service identity (ADR 0006). */
  caller: ServiceName;
  /** The service called: the audience of that identity, and the name in error messages. */
  service: ServiceName;
  /** Its base URL (`ctx.urls.registry`). */
  url: string;
  /** LLMOPS_INTERNAL_SECRET. */
  secret: string;
  /** The whole call, answer included; past it the service counts as not answering. */
  timeoutMs?: number;
  /** A test may answer for the service; by default the call goes over kit's upstream transport itself. */
  fetch?: UpstreamFetch;
}

/** One request and its answer, as the client needs them: the status, a header, then the body or nothing. */
interface Exchanged {
  status: number;
  header(name: string): string | null;
  text(): Promise<string>;
  discard(): Promise<void>;
}

type Exchange = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: string; signal: AbortSignal; idempotent: boolean },
) => Promise<Exchanged>;

/**
 * Over kit's upstream transport directly (node:http), not through its `fetch`: the WHATWG Request and the
 * web stream of the answer cost about 250 µs of CPU per call more (a loopback call measured 380–450 µs of
 * CPU through `fetch` and 135–175 µs this way, client and server together; issue 14, docs/bench.md).
 */
function overUpstream(upstream: Upstream): Exchange {
  return async (url, { method, headers, body, signal, idempotent }) => {
    const response = await upstream.request(new URL(url), {
      method,
      headers,
      ...(body === undefined ? {} : { body: Buffer.from(body) }),
      signal,
      idempotent,
    });
    return {
      status: response.statusCode ?? 502,
      header: (name) => {
        const value = response.headers[name];
        return (Array.isArray(value) ? value[0] : value) ?? null;
      },
      text: async () => (await readBody(response)).toString('utf8'),
      async discard() {
        response.resume();
      },
    };
  };
}

function overFetch(fetch: UpstreamFetch): Exchange {
  return async (url, { method, headers, body, signal, idempotent }) => {
    const response = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }), signal, idempotent });
    return {
      status: response.status,
      header: (name) => response.headers.get(name),
      text: () => response.text(),
      discard: async () => {
        await response.body?.cancel();
      },
    };
  };
}

/** When a busy or failing service says nothing about when to come back. */
const DEFAULT_RETRY_AFTER_S = 5;

/** `/api/v1/models/{id}` with `{ id }` → `/api/v1/models/0193…`. */
function pathOf(route: RouteConfig, params: Record<string, unknown> = {}): string {
  return route.path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`${route.method.toUpperCase()} ${route.path} needs the path parameter ${name}`);
    return encodeURIComponent(String(value));
  });
}

function searchOf(query: Record<string, unknown> = {}): string {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) {
    for (const item of Array.isArray(value) ? value : [value]) if (item !== undefined) search.append(name, String(item));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

/** The service's problem, or one that says what came instead. */
function problemOf(status: number, text: string): Problem {
  try {
    const parsed = JSON.parse(text) as Partial<Problem>;
    if (typeof parsed === 'object' && parsed !== null && typeof parsed.title === 'string')
      return { type: 'about:blank', ...parsed, title: parsed.title, status };
  } catch {
    // not JSON: described below
  }
  return { type: 'about:blank', title: `HTTP ${status}`, status, detail: text.slice(0, 500) };
}

export function createServiceClient({
  caller,
  service,
  url,
  secret,
  timeoutMs = 10_000,
  fetch,
}: ServiceClientOptions): ServiceClient {
  const signer = createIdentitySigner(secret);
  const exchange = fetch ? overFetch(fetch) : overUpstream(createUpstream());
  const unavailable = (why: string, retryAfterS = DEFAULT_RETRY_AFTER_S) =>
    new ServiceUnavailable(`The ${service} service ${why}; try again shortly.`, retryAfterS);

  return {
    async call<R extends RouteConfig>(route: R, input: CallInput<R>): Promise<ServiceAnswer<R>> {
      const { params, query, body, requestId, onBehalfOf } = input as {
        params?: Record<string, unknown>;
        query?: Record<string, unknown>;
        body?: unknown;
        requestId: string;
        onBehalfOf?: string;
      };
      const headers: Record<string, string> = {
        [IDENTITY_HEADER]: await signer.sign({ kind: 'service', subject: caller }, service),
        'x-request-id': requestId,
      };
      if (onBehalfOf !== undefined) headers[ON_BEHALF_OF_HEADER] = onBehalfOf;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Exchanged;
      let ok: boolean;
      let text: string;
      try {
        response = await exchange(`${url}${pathOf(route, params)}${searchOf(query)}`, {
          method: route.method.toUpperCase(),
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(timeoutMs),
          idempotent: markedIdempotent(route),
        });
        ok = response.status >= 200 && response.status < 300;
        // A busy service (429: the prompt service bounds renders per caller) is no answer either.
        const refused = response.status >= 400 && response.status < 500 && response.status !== 429;
        if (!ok && !refused) {
          await response.discard();
          throw unavailable(`answered ${response.status}`, Number(response.header('retry-after')) || DEFAULT_RETRY_AFTER_S);
        }
        text = await response.text();
      } catch (error) {
        if (error instanceof ServiceUnavailable) throw error;
        throw unavailable(`did not answer (${(error as Error).message})`);
      }
      if (!ok) return { ok: false, status: response.status, problem: problemOf(response.status, text) };
      return {
        ok: true,
        status: response.status as SuccessStatus<R>,
        body: (text === '' ? null : JSON.parse(text)) as SuccessBody<R>,
      };
    },
  };
}
