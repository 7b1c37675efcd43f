import { IDENTITY_HEADER, ON_BEHALF_OF_HEADER, signIdentity } from '@llmops/kit/http/identity';
import { createUpstream, type UpstreamFetch } from '@llmops/kit/http/upstream';
import { ServiceUnavailable } from '@llmops/kit/problem';

/** What a call to another service gives back: the status and the parsed JSON body (null when none). */
export interface ServiceAnswer<T> {
  status: number;
  body: T;
}

export interface ServiceClient {
  get<T>(path: string, requestId: string, options?: CallOptions): Promise<ServiceAnswer<T>>;
  post<T>(path: string, body: unknown, requestId: string, options?: CallOptions): Promise<ServiceAnswer<T>>;
}

export interface CallOptions {
  /** The route's contract marks it so (`markedIdempotent(route)`): sent again after a reset reused connection. */
  idempotent?: boolean;
  /** Whom the call is made for (`account:<id>`): the called service bounds its work per such caller. */
  onBehalfOf?: string;
}

export interface ServiceClientOptions {
  /** The service's base URL (`ctx.urls.registry`). */
  url: string;
  /** The service it talks to: the audience of the runner's signed identity (ADR 0006). */
  audience: 'registry' | 'prompt';
  /** LLMOPS_INTERNAL_SECRET. */
  secret: string;
  timeoutMs?: number;
  /** Kit's upstream fetch by default: keep-alive within the service's idle time, one retry of a repeatable request. */
  fetch?: UpstreamFetch;
}

/** Identities live 60 s; one is reused for 30 s so a busy runner signs twice a minute, not per call. */
const REUSE_MS = 30_000;

/**
 * Calls another service as the runner (a service identity). A service that does not answer, answers 5xx
 * or is busy (429), is a 503 for the caller: nothing is created on a guess.
 */
export function createServiceClient({
  url,
  audience,
  secret,
  timeoutMs = 10_000,
  fetch = createUpstream().fetch,
}: ServiceClientOptions): ServiceClient {
  let signed: { token: Promise<string>; until: number } | undefined;
  const identity = () => {
    const now = Date.now();
    if (!signed || signed.until < now) {
      signed = {
        token: signIdentity(secret, { kind: 'service', subject: 'runner', requestId: 'runner' }, audience),
        until: now + REUSE_MS,
      };
    }
    return signed.token;
  };

  async function call<T>(
    method: string,
    path: string,
    body: unknown,
    requestId: string,
    { idempotent = false, onBehalfOf }: CallOptions = {},
  ): Promise<ServiceAnswer<T>> {
    let response: Response;
    try {
      response = await fetch(`${url}${path}`, {
        method,
        headers: {
          [IDENTITY_HEADER]: await identity(),
          'x-request-id': requestId,
          ...(onBehalfOf === undefined ? {} : { [ON_BEHALF_OF_HEADER]: onBehalfOf }),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(timeoutMs),
        idempotent,
      });
    } catch (error) {
      throw new ServiceUnavailable(`The ${audience} service did not answer (${(error as Error).message}); try again shortly.`, 5);
    }
    // A busy service (429: the prompt service bounds renders per caller) is no answer either.
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel();
      const retryAfter = Number(response.headers.get('retry-after')) || 5;
      throw new ServiceUnavailable(`The ${audience} service answered ${response.status}; try again shortly.`, retryAfter);
    }
    const text = await response.text();
    return { status: response.status, body: (text === '' ? null : JSON.parse(text)) as T };
  }

  return {
    get: (path, requestId, options) => call('GET', path, undefined, requestId, options),
    post: (path, body, requestId, options) => call('POST', path, body, requestId, options),
  };
}
