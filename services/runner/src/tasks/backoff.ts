import type { TaskSnapshot } from './task.ts';

/**
 * How long a task waits before its next attempt on the same model (docs/tasks.md#retries-and-fallback):
 * exponential in the attempts made on the model (`initial_backoff_ms × multiplier^(n−1)`, capped at
 * `max_backoff_ms`), with "equal jitter" (a random point in the upper half, so retries of many tasks
 * spread out but none comes back at once), and never before the provider's Retry-After. The policy is
 * the preset's, fixed in the task's snapshot at creation; the wait is measured by PostgreSQL's clock.
 */
export function backoffMs(
  policy: TaskSnapshot['retry_policy'],
  attemptsOnModel: number,
  retryAfterMs: number | null,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    policy.max_backoff_ms,
    policy.initial_backoff_ms * policy.backoff_multiplier ** Math.max(0, attemptsOnModel - 1),
  );
  const jittered = exponential / 2 + random() * (exponential / 2);
  return Math.round(Math.max(jittered, retryAfterMs ?? 0));
}
