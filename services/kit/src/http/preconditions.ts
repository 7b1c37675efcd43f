import type { Context } from 'hono';
import { HttpProblem } from '../problem.ts';

/**
 * Optimistic concurrency (two editors must not silently overwrite each other): every resource has an
 * `updated_at`; its ETag is derived from it, reads send `ETag`, writes may send `If-Match`, and a write
 * whose `If-Match` no longer matches is a 412 that says what changed.
 */
export function etagOf(updatedAt: Date | string): string {
  const iso = typeof updatedAt === 'string' ? updatedAt : updatedAt.toISOString();
  return `"${Buffer.from(iso).toString('base64url')}"`;
}

export class PreconditionFailed extends HttpProblem {
  constructor(detail: string) {
    super(412, 'precondition-failed', 'Precondition failed', detail);
  }
}

/** Throws 412 when the request's If-Match names another version than `updatedAt`; no If-Match passes. */
export function checkIfMatch(c: Context, updatedAt: Date | string, what: string): void {
  const header = c.req.header('if-match');
  if (header === undefined || header.trim() === '*') return;
  const current = etagOf(updatedAt);
  const sent = header.split(',').map((tag) => tag.trim().replace(/^W\//, ''));
  if (!sent.includes(current)) {
    const iso = typeof updatedAt === 'string' ? updatedAt : updatedAt.toISOString();
    throw new PreconditionFailed(
      `${what} was changed by someone else (now updated at ${iso}); reload it and apply your change again.`,
    );
  }
}
