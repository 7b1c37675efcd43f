import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '@llmops/kit/ids';
import { useTestDatabase } from '@llmops/kit/testing/vitest';
import * as cost from './cost.ts';

/*
 * The price each ending attempt is charged at, read for the attempts that end together (worker/endings.ts): the
 * one in force when each started, and a lookup that PostgreSQL plans once per connection rather than at every
 * finish (issue 14: 1,500 plans for 1,490 calls in the steady state, planning costlier than running it).
 */

const db = await useTestDatabase();
const admin = new pg.Pool({ connectionString: db.adminUrl, max: 1 });
afterAll(() => admin.end());

const provider = uuidv7();
const [priced, unpriced] = [uuidv7(), uuidv7()];
await admin.query(
  `INSERT INTO runner.providers (id, name, kind, timeout_ms, enabled, updated_at) VALUES ($1, 'p', 'openai', 60000, true, now())`,
  [provider],
);
for (const model of [priced, unpriced])
  await admin.query(
    `INSERT INTO runner.models (id, provider_id, provider_kind, provider_model_id, display_name, modality, enabled, updated_at)
     VALUES ($1, $2, 'openai', 'm', 'm', 'chat', true, now())`,
    [model, provider],
  );
await admin.query(
  `INSERT INTO runner.model_prices (model_id, effective_from, input_per_mtok, output_per_mtok, cached_input_per_mtok)
   VALUES ($1, '2026-01-01Z', 1, 2, 0.5), ($1, '2026-06-01Z', 3, 4, NULL)`,
  [priced],
);

describe('the prices of attempts that end together', () => {
  it('are the ones in force when each attempt started, in the order given, null for a model without one', async () => {
    const prices = await cost.pricesAtStart(admin, [
      { model_id: priced, started_at: new Date('2026-07-01Z') },
      { model_id: unpriced, started_at: new Date('2026-07-01Z') },
      { model_id: priced, started_at: new Date('2026-03-01Z') },
      { model_id: priced, started_at: new Date('2025-12-31Z') },
    ]);
    expect(prices).toEqual([
      expect.objectContaining({ input_per_mtok: '3.000000', output_per_mtok: '4.000000', cached_input_per_mtok: null }),
      null,
      expect.objectContaining({ input_per_mtok: '1.000000', output_per_mtok: '2.000000', cached_input_per_mtok: '0.500000' }),
      null,
    ]);
    expect(Date.parse(prices[0]?.effective_from as string)).toBe(Date.parse('2026-06-01Z'));
  });

  it('are looked up with a plan PostgreSQL keeps: no planning at every finish once the connection is warm', async () => {
    const client = await admin.connect();
    try {
      for (let i = 0; i < 12; i++)
        await cost.pricesAtStart(client, [
          { model_id: priced, started_at: new Date() },
          { model_id: unpriced, started_at: new Date() },
        ]);
      // PostgreSQL makes five custom plans of a named statement, then keeps the generic one when it costs no more.
      const { rows } = await client.query<{ custom_plans: string; generic_plans: string }>(
        `SELECT custom_plans, generic_plans FROM pg_prepared_statements WHERE name = 'runner.cost.prices_at_start'`,
      );
      expect(rows).toHaveLength(1);
      expect(Number(rows[0]?.custom_plans)).toBeLessThanOrEqual(5);
      expect(Number(rows[0]?.generic_plans)).toBeGreaterThanOrEqual(7);
    } finally {
      client.release();
    }
  });
});
