import { z } from '@hono/zod-openapi';

/** One field-level problem in a validation error. */
export interface FieldProblem {
  /** Where the field is, made by `fieldPath`: `body.name`, `query.limit`, `body.models[1].price`. */
  field: string;
  message: string;
}

/**
 * The one notation of field paths in problems: keys joined by dots, list positions in brackets
 * (`fieldPath('body', 'models', 1, 'price')` → `body.models[1].price`), as the dashboard reads them.
 */
export function fieldPath(...segments: readonly PropertyKey[]): string {
  let path = '';
  for (const segment of segments) {
    if (typeof segment === 'number') path += `[${segment}]`;
    else path += path === '' ? String(segment) : `.${String(segment)}`;
  }
  return path;
}

/** RFC 9457 problem details; the one error shape of every service. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldProblem[];
}

export const PROBLEM_TYPE_BASE = 'https://llmops.dev/problems/';

/** An error that carries its HTTP status and becomes a problem+json response. */
export class HttpProblem extends Error {
  override name = 'HttpProblem';
  readonly status: number;
  readonly type: string;
  readonly title: string;
  readonly errors: FieldProblem[] | undefined;
  readonly headers: Record<string, string>;
  constructor(
    status: number,
    slug: string,
    title: string,
    detail?: string,
    extra: { errors?: FieldProblem[]; headers?: Record<string, string> } = {},
  ) {
    super(detail ?? title);
    this.status = status;
    this.type = PROBLEM_TYPE_BASE + slug;
    this.title = title;
    this.errors = extra.errors;
    this.headers = extra.headers ?? {};
  }
  toProblem(instance?: string): Problem {
    return {
      type: this.type,
      title: this.title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
      ...(this.errors ? { errors: this.errors } : {}),
    };
  }
}

export class BadRequest extends HttpProblem {
  constructor(detail: string, errors?: FieldProblem[]) {
    super(400, 'bad-request', 'Bad request', detail, errors ? { errors } : {});
  }
}
export class Unauthorized extends HttpProblem {
  constructor(detail = 'Sign in, or send a valid API token as `Authorization: Bearer <token>`.') {
    super(401, 'unauthorized', 'Unauthorized', detail, { headers: { 'WWW-Authenticate': 'Bearer' } });
  }
}
export class Forbidden extends HttpProblem {
  constructor(detail: string) {
    super(403, 'forbidden', 'Forbidden', detail);
  }
}
export class NotFound extends HttpProblem {
  constructor(detail: string) {
    super(404, 'not-found', 'Not found', detail);
  }
}
export class Conflict extends HttpProblem {
  constructor(detail: string) {
    super(409, 'conflict', 'Conflict', detail);
  }
}
export class PayloadTooLarge extends HttpProblem {
  constructor(limitBytes: number) {
    // The rest of the body is never read: close the connection after answering, so the client gets
    // this answer rather than a reset while it is still sending.
    super(413, 'payload-too-large', 'Payload too large', `The request body is larger than the limit of ${limitBytes} bytes.`, {
      headers: { Connection: 'close' },
    });
  }
}
export class HeaderFieldsTooLarge extends HttpProblem {
  constructor() {
    super(
      431,
      'header-fields-too-large',
      'Request header fields too large',
      'The request headers are larger than this server accepts (16 KiB in all); send fewer or smaller headers, e.g. fewer cookies.',
    );
  }
}
export class UnsupportedMediaType extends HttpProblem {
  constructor(detail: string) {
    super(415, 'unsupported-media-type', 'Unsupported media type', detail);
  }
}
export class Unprocessable extends HttpProblem {
  constructor(detail: string, errors?: FieldProblem[]) {
    super(422, 'validation', 'Validation failed', detail, errors ? { errors } : {});
  }
}
export class TooManyRequests extends HttpProblem {
  constructor(detail: string, retryAfterSeconds: number, headers: Record<string, string> = {}) {
    super(429, 'rate-limited', 'Too many requests', detail, {
      headers: { ...headers, 'Retry-After': String(retryAfterSeconds) },
    });
  }
}
export class ServiceUnavailable extends HttpProblem {
  constructor(detail: string, retryAfterSeconds?: number) {
    super(
      503,
      'unavailable',
      'Service unavailable',
      detail,
      retryAfterSeconds ? { headers: { 'Retry-After': String(retryAfterSeconds) } } : {},
    );
  }
}

/** The problem schema, for OpenAPI error responses. */
export const ProblemSchema = z
  .object({
    type: z.string().openapi({ example: `${PROBLEM_TYPE_BASE}validation` }),
    title: z.string().openapi({ example: 'Validation failed' }),
    status: z.number().int().openapi({ example: 422 }),
    detail: z.string().optional().openapi({ example: 'name: expected a non-empty string' }),
    instance: z.string().optional().openapi({ description: 'The request id; quote it when reporting a problem.' }),
    errors: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

export const PROBLEM_CONTENT_TYPE = 'application/problem+json';
