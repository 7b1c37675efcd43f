import type { Context } from 'hono';
import type { Queryable } from '@llmops/kit/db';
import type { AppEnv } from '@llmops/kit/http/app';
import { idempotent as idempotentIn, type Outcome } from '@llmops/kit/http/idempotency';

export type { Outcome };

/** `Idempotency-Key` on the prompt service's creates and publishes (kit's, on prompt.idempotency_keys). */
export function idempotent<T>(
  tx: Queryable,
  c: Context<AppEnv>,
  operation: string,
  request: unknown,
  run: () => Promise<{ status: number; body: T }>,
): Promise<Outcome<T>> {
  return idempotentIn(tx, c, 'prompt.idempotency_keys', operation, request, run);
}
