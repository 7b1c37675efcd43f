-- The usage rollup's buckets without the template (docs/bench.md 10., docs/adr/0020-usage-rollup.md): a busy
-- hour has a bucket row per model and template (up to 120 in the bench's year), which the reads that neither
-- group nor split by template (the dashboard's two, a year by model) do not need. These keep one row per UTC
-- hour (and day) per model and provider, beside the buckets by template, and are kept by the same function,
-- so a task is in all four or in none.
CREATE TABLE runner.usage_model_hours (
  hour timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
  model_id uuid,
  provider_id uuid,
  tasks integer NOT NULL,
  succeeded integer NOT NULL,
  failed integer NOT NULL,
  attempts bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cost_usd numeric NOT NULL
);
CREATE UNIQUE INDEX usage_model_hours_key ON runner.usage_model_hours (hour, model_id, provider_id) NULLS NOT DISTINCT;

CREATE TABLE runner.usage_model_days (
  day timestamptz NOT NULL CHECK (day = date_trunc('day', day, 'UTC')),
  model_id uuid,
  provider_id uuid,
  tasks integer NOT NULL,
  succeeded integer NOT NULL,
  failed integer NOT NULL,
  attempts bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cost_usd numeric NOT NULL
);
CREATE UNIQUE INDEX usage_model_days_key ON runner.usage_model_days (day, model_id, provider_id) NULLS NOT DISTINCT;

INSERT INTO runner.usage_model_hours (hour, model_id, provider_id, tasks, succeeded, failed, attempts, input_tokens,
    output_tokens, cached_input_tokens, cost_usd)
  SELECT hour, model_id, provider_id, sum(tasks), sum(succeeded), sum(failed), sum(attempts), sum(input_tokens),
    sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
  FROM runner.usage_hours
  GROUP BY 1, 2, 3;

INSERT INTO runner.usage_model_days (day, model_id, provider_id, tasks, succeeded, failed, attempts, input_tokens,
    output_tokens, cached_input_tokens, cost_usd)
  SELECT day, model_id, provider_id, sum(tasks), sum(succeeded), sum(failed), sum(attempts), sum(input_tokens),
    sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
  FROM runner.usage_days
  GROUP BY 1, 2, 3;

-- Adds (sign 1) or takes away (sign -1) these tasks' figures in their buckets of all four tables: one row per
-- bucket and table however many of the tasks fall in it (the consumer adds a batch at once), in key order, so
-- two callers adding to the same buckets wait for each other instead of deadlocking. Replaces
-- runner.usage_hours_add, which added one task to two tables (sql/runner/000019 drops it).
CREATE FUNCTION runner.usage_add(ts runner.tasks[], sign integer) RETURNS void LANGUAGE sql AS $$
  WITH t AS MATERIALIZED (
    SELECT date_trunc('hour', created_at, 'UTC') AS hour, model_id, provider_id, template_id,
      sign * count(*) AS tasks, sign * count(*) FILTER (WHERE status = 'succeeded') AS succeeded,
      sign * count(*) FILTER (WHERE status = 'failed') AS failed, sign * sum(attempts) AS attempts,
      sign * coalesce(sum((usage ->> 'input_tokens')::bigint), 0) AS input_tokens,
      sign * coalesce(sum((usage ->> 'output_tokens')::bigint), 0) AS output_tokens,
      sign * coalesce(sum((usage ->> 'cached_input_tokens')::bigint), 0) AS cached_input_tokens,
      sign * sum(cost_usd) AS cost_usd
    FROM unnest(ts)
    GROUP BY 1, 2, 3, 4
  ),
  hours AS (
    INSERT INTO runner.usage_hours AS b (hour, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
        input_tokens, output_tokens, cached_input_tokens, cost_usd)
      SELECT * FROM t ORDER BY hour, model_id, provider_id, template_id
    ON CONFLICT (hour, model_id, provider_id, template_id) DO UPDATE SET
      tasks = b.tasks + excluded.tasks, succeeded = b.succeeded + excluded.succeeded, failed = b.failed + excluded.failed,
      attempts = b.attempts + excluded.attempts, input_tokens = b.input_tokens + excluded.input_tokens,
      output_tokens = b.output_tokens + excluded.output_tokens,
      cached_input_tokens = b.cached_input_tokens + excluded.cached_input_tokens, cost_usd = b.cost_usd + excluded.cost_usd
  ),
  days AS (
    INSERT INTO runner.usage_days AS b (day, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
        input_tokens, output_tokens, cached_input_tokens, cost_usd)
      SELECT date_trunc('day', hour, 'UTC'), model_id, provider_id, template_id, sum(tasks), sum(succeeded), sum(failed),
        sum(attempts), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
      FROM t GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4
    ON CONFLICT (day, model_id, provider_id, template_id) DO UPDATE SET
      tasks = b.tasks + excluded.tasks, succeeded = b.succeeded + excluded.succeeded, failed = b.failed + excluded.failed,
      attempts = b.attempts + excluded.attempts, input_tokens = b.input_tokens + excluded.input_tokens,
      output_tokens = b.output_tokens + excluded.output_tokens,
      cached_input_tokens = b.cached_input_tokens + excluded.cached_input_tokens, cost_usd = b.cost_usd + excluded.cost_usd
  ),
  model_hours AS (
    INSERT INTO runner.usage_model_hours AS b (hour, model_id, provider_id, tasks, succeeded, failed, attempts,
        input_tokens, output_tokens, cached_input_tokens, cost_usd)
      SELECT hour, model_id, provider_id, sum(tasks), sum(succeeded), sum(failed), sum(attempts), sum(input_tokens),
        sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
      FROM t GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, model_id, provider_id) DO UPDATE SET
      tasks = b.tasks + excluded.tasks, succeeded = b.succeeded + excluded.succeeded, failed = b.failed + excluded.failed,
      attempts = b.attempts + excluded.attempts, input_tokens = b.input_tokens + excluded.input_tokens,
      output_tokens = b.output_tokens + excluded.output_tokens,
      cached_input_tokens = b.cached_input_tokens + excluded.cached_input_tokens, cost_usd = b.cost_usd + excluded.cost_usd
  )
  INSERT INTO runner.usage_model_days AS b (day, model_id, provider_id, tasks, succeeded, failed, attempts,
      input_tokens, output_tokens, cached_input_tokens, cost_usd)
    SELECT date_trunc('day', hour, 'UTC'), model_id, provider_id, sum(tasks), sum(succeeded), sum(failed), sum(attempts),
      sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
    FROM t GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
  ON CONFLICT (day, model_id, provider_id) DO UPDATE SET
    tasks = b.tasks + excluded.tasks, succeeded = b.succeeded + excluded.succeeded, failed = b.failed + excluded.failed,
    attempts = b.attempts + excluded.attempts, input_tokens = b.input_tokens + excluded.input_tokens,
    output_tokens = b.output_tokens + excluded.output_tokens,
    cached_input_tokens = b.cached_input_tokens + excluded.cached_input_tokens, cost_usd = b.cost_usd + excluded.cost_usd
$$;

-- Until 000019 replaces the triggers, the one-task function feeds all four tables through the new one.
CREATE OR REPLACE FUNCTION runner.usage_hours_add(t runner.tasks, sign integer) RETURNS void LANGUAGE sql AS $$
  SELECT runner.usage_add(ARRAY[t], sign)
$$;
