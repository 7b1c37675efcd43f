/**
 * Cost precision in SQL (docs/tasks.md#money): 10,000 cheap attempts, inserted by SQL as a month of
 * calls would leave them, add up in runner.attempts, runner.tasks and the usage report to exactly what
 * the provider bills for their tokens — where numeric(14, 6) rounded each one (2.85 µ$ → 0.000003).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { createPool } from '@llmops/kit/db';
import type { Identity } from '@llmops/kit/http/identity';
import { usdText } from '@llmops/kit/money';
import { startStack } from '@llmops/kit/testing/stack';
import { useTestDatabase } from '@llmops/kit/testing/vitest';

const db = await useTestDatabase();
const admin = createPool({ connectionString: db.adminUrl, applicationName: 'test', max: 2 });
const stack = await startStack({ db, services: ['runner'] });
afterAll(async () => {
  await stack.stop();
  await admin.end();
});

const viewer: Identity = { kind: 'account', subject: 'viewer-1', role: 'viewer', scopes: [], requestId: 'test' };
const CALLS = 10_000;
const provider = '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a51';
const model = '0193a5b2-1c3d-7e4f-8a9b-0c1d2e3f4a52';

/** The usage of call i, the same in SQL (below) and here: a few hundred tokens, some cached. */
function usageOf(i: number): { input: number; cached: number; output: number } {
  const input = 1 + (i % 397);
  return { input, cached: i % 5 === 0 ? Math.floor(input / 2) : 0, output: i % 61 };
}

describe('cost precision', () => {
  it('sums 10,000 cheap attempts to the provider’s bill, in the tables and in the usage report', async () => {
    // $0.15 / $0.075 cached / $0.60 per million tokens, each attempt's cost computed exactly as the
    // runner does (tasks/cost.ts) and stored in the columns' own type.
    await admin.query(
      `WITH calls AS (
         SELECT i, 1 + i % 397 AS input, CASE WHEN i % 5 = 0 THEN (1 + i % 397) / 2 ELSE 0 END AS cached, i % 61 AS output
         FROM generate_series(1, $1::int) AS i),
       costed AS (
         SELECT i, input, cached, output,
                gen_random_uuid() AS task_id,
                ((input - cached) * 0.150000 + cached * 0.075000 + output * 0.600000) / 1000000 AS cost
         FROM calls),
       tasks AS (
         INSERT INTO runner.tasks (id, requester, source, status, kind, inputs, snapshot, model_id, provider_id, usage,
                                   cost_usd, output_text, finished_at)
         SELECT task_id, 'account:test', 'api', 'succeeded', 'chat', '{}', '{"chain": []}', $2, $3,
                jsonb_build_object('input_tokens', input, 'output_tokens', output, 'cached_input_tokens', cached), cost, 'ok', now()
         FROM costed RETURNING id)
       INSERT INTO runner.attempts (id, task_id, number, model_index, model_id, provider_id, provider_model_id, worker, status,
                                    request, usage, cost_usd, queue_wait_ms, started_at, ended_at)
       SELECT gen_random_uuid(), task_id, 1, 0, $2, $3, 'emu-cheap', 'sql', 'succeeded', '{}',
              jsonb_build_object('input_tokens', input, 'output_tokens', output, 'cached_input_tokens', cached), cost, 0, now(), now()
       FROM costed`,
      [CALLS, model, provider],
    );

    // The bill: every token of the month at the price, once, in exact integers of 10⁻¹² USD.
    let perMillion = 0n;
    for (let i = 1; i <= CALLS; i++) {
      const { input, cached, output } = usageOf(i);
      perMillion +=
        BigInt(input - cached) * 150_000_000_000n + BigInt(cached) * 75_000_000_000n + BigInt(output) * 600_000_000_000n;
    }
    expect(perMillion % 1_000_000n).toBe(0n);
    const bill = usdText(perMillion / 1_000_000n);

    const { rows } = await admin.query<{ attempts: string; tasks: string; six: string; smallest: string }>(
      `SELECT (SELECT sum(cost_usd) FROM runner.attempts)::text AS attempts,
              (SELECT sum(cost_usd) FROM runner.tasks)::text AS tasks,
              (SELECT sum(round(cost_usd, 6)) FROM runner.attempts)::text AS six,
              (SELECT min(cost_usd) FROM runner.attempts)::text AS smallest`,
    );
    const sums = rows[0] as (typeof rows)[number];
    expect(sums.attempts).toBe(bill);
    expect(sums.tasks).toBe(bill);
    // The smallest call costs less than a millionth of a dollar, and it is kept.
    expect(sums.smallest).toBe('0.000000750000');
    // What six places per attempt would have stored is not the bill: the test can fail.
    expect(usdText(BigInt(sums.six.replace('.', '')) * 1_000_000n)).not.toBe(bill);

    const response = await stack.call('runner', '/api/v1/usage?group_by=provider', {}, viewer);
    expect(response.status).toBe(200);
    const report = (await response.json()) as { total: { tasks: number; cost_usd: string }; rows: { cost_usd: string }[] };
    expect(report.total).toMatchObject({ tasks: CALLS, cost_usd: bill });
    expect(report.rows.map((row) => row.cost_usd)).toEqual([bill]);
  });
});
