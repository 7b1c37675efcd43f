import { z } from '@hono/zod-openapi';
import { BadRequest, ProblemSchema } from '../problem.ts';

/** A JSON answer of a route. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  description,
  content: { 'application/json': { schema } },
});

/** A JSON request body (`required: false` where a route takes none as well). */
export const body = <T extends z.ZodType>(schema: T, required = true) => ({
  required,
  content: { 'application/json': { schema } },
});

/** List queries (ADR 0013): `limit` (default 50, max 200) and an opaque `cursor` from `next_cursor`. */
export const PageQuerySchema = z.object({
  limit: z.coerce
    .number({ message: 'expected a whole number from 1 to 200' })
    .int('expected a whole number from 1 to 200')
    .min(1, 'expected a whole number from 1 to 200')
    .max(200, 'expected a whole number from 1 to 200')
    .default(50)
    .openapi({ description: 'How many items to return (1–200).', example: 50 }),
  cursor: z.string().max(500).optional().openapi({ description: 'The `next_cursor` of the previous page.' }),
});

/** A page of items: `next_cursor` is null on the last page. */
export function pageOf<T extends z.ZodType>(item: T, name: string) {
  return z.object({ items: z.array(item), next_cursor: z.string().nullable() }).openapi(name);
}

/** Cursors are opaque to clients: base64url of a small JSON value (e.g. the last row's sort key). */
export function encodeCursor(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

/** Decodes a cursor against the schema of what was encoded; a bad one is a 400 naming `cursor`. */
export function decodeCursor<T extends z.ZodType>(cursor: string | undefined, schema: T): z.output<T> | undefined {
  if (cursor === undefined) return undefined;
  try {
    const parsed = schema.safeParse(JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')));
    if (parsed.success) return parsed.data;
  } catch {
    // falls through to the error below
  }
  throw new BadRequest('query.cursor: not a cursor this API gave out; start again without it', [
    { field: 'query.cursor', message: 'not a cursor this API gave out' },
  ]);
}

/** Ids are UUIDs (v7, made by the app). */
export const IdParamSchema = z.object({
  id: z
    .uuid({ message: 'expected a UUID' })
    .openapi({ param: { name: 'id', in: 'path' }, example: '01936f6e-7c1a-7b2e-9f3c-2b6d1e8a4c5d' }),
});

const problem = (description: string) => ({ description, content: { 'application/problem+json': { schema: ProblemSchema } } });

/** The error responses most routes share, for OpenAPI. */
export const ERROR_RESPONSES = {
  400: problem('Malformed request: bad JSON, invalid UTF-8, a bad query or path parameter'),
  401: problem('Not signed in, or the token is invalid, expired or revoked'),
  403: problem('Signed in, but the role or token scope does not allow this'),
  404: problem('No such resource'),
  409: problem('Conflicts with the current state (e.g. a duplicate name)'),
  412: problem('If-Match no longer matches: someone else changed it'),
  413: problem('The body is larger than 1 MiB'),
  415: problem('The body is not JSON'),
  422: problem('The body does not validate; `errors` lists every field'),
  429: problem('Rate limited; retry after `Retry-After` seconds'),
} as const;

/** Picks error responses by status, for a route's `responses`. */
export function errors<S extends keyof typeof ERROR_RESPONSES>(...statuses: S[]): Pick<typeof ERROR_RESPONSES, S> {
  return Object.fromEntries(statuses.map((status) => [status, ERROR_RESPONSES[status]])) as Pick<typeof ERROR_RESPONSES, S>;
}

/** An optional `Idempotency-Key` on a create (services/kit/src/idempotency.ts). */
export const IdempotencyHeaders = z.object({
  'idempotency-key': z
    .string()
    .min(1)
    .max(200)
    .optional()
    .openapi({ param: { name: 'idempotency-key', in: 'header' }, description: 'Same key + same body → same result.' }),
});

/** An optional `If-Match` on a write that names the version it was based on. */
export const IfMatchHeaders = z.object({
  'if-match': z
    .string()
    .max(500)
    .optional()
    .openapi({ param: { name: 'if-match', in: 'header' } }),
});
