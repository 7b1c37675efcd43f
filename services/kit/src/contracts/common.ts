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

/** A list's `sort` value: one of its keys, ascending, or descending with a leading `-` (`name`, `-created_at`). */
export type SortValue<K extends string> = K | `-${K}`;

/**
 * A list's `sort` query parameter (ADR 0013): an enum of the list's keys, each ascending or, with a
 * leading `-`, descending; ties are broken by id in the same direction. Anything else is a 400 that
 * lists what is accepted.
 */
export function sortQuery<const K extends string>(keys: readonly [K, ...K[]], fallback: SortValue<K>) {
  const values = keys.flatMap((key) => [key, `-${key}`]) as [SortValue<K>, ...SortValue<K>[]];
  const message = `expected one of ${values.join(', ')}`;
  return (
    z
      .enum(values, { message })
      // zod cannot see through the generic enum's mapped type that `fallback` is one of `values`.
      .default(fallback as never)
      .openapi({
        description: `The order of the list: a key ascending, or with a leading \`-\` descending (default \`${fallback}\`). The \`next_cursor\` of a page continues in the same order only.`,
        example: fallback,
      })
  );
}

/** `-name` → `{ key: 'name', descending: true }`. */
export function parseSort<K extends string>(sort: SortValue<K>): { key: K; descending: boolean } {
  return sort.startsWith('-') ? { key: sort.slice(1) as K, descending: true } : { key: sort as K, descending: false };
}

/** Where a sorted list's page ended: the sort it was made for, the last row's sort value (as text) and id. */
export interface SortCursor {
  value: string | null;
  id: string;
}

const SortCursorSchema = z.object({ sort: z.string(), value: z.string().nullable(), id: z.uuid() }).strict();

/** The `next_cursor` of a sorted page: the sort travels with it, so it cannot be used under another. */
export function encodeSortCursor(sort: string, last: SortCursor | undefined): string | null {
  return last ? encodeCursor({ sort, value: last.value, id: last.id }) : null;
}

/**
 * A sorted page from rows fetched with one more than `limit`: the rows to show, and the cursor after the
 * last of them (null when there is no more).
 */
export function sortedPage<T extends { id: string; sort_value: string | null }>(
  rows: readonly T[],
  limit: number,
  sort: string,
): { page: T[]; next_cursor: string | null } {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    page,
    next_cursor: rows.length > limit && last ? encodeSortCursor(sort, { value: last.sort_value, id: last.id }) : null,
  };
}

/** Decodes a sorted list's cursor; one made for another `sort` is a 400 that says so. */
export function decodeSortCursor(cursor: string | undefined, sort: string): SortCursor | undefined {
  const decoded = decodeCursor(cursor, SortCursorSchema);
  if (decoded === undefined) return undefined;
  if (decoded.sort !== sort) {
    throw new BadRequest(
      `query.cursor: this cursor continues sort=${decoded.sort}; send that sort with it, or start again without a cursor`,
      [{ field: 'query.cursor', message: `this cursor continues sort=${decoded.sort}, not sort=${sort}` }],
    );
  }
  return { value: decoded.value, id: decoded.id };
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
