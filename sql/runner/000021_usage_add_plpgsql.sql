-- runner.usage_add (sql/runner/000018) in PL/pgSQL, the same statement: PostgreSQL 15 plans a LANGUAGE sql
-- function's statement again at every call (it cannot inline one that writes), about 1 ms of the 1.6-2.1 ms a
-- one-task runner.usage_count took on the machine's PostgreSQL 15 without the commit's fsync; PL/pgSQL keeps
-- the statement's plan for the session (0.8 ms). Issue 14's bench: the usage consumer's statement was the
-- busiest of the runner's steady state (docs/adr/0020-usage-rollup.md).
CREATE OR REPLACE FUNCTION runner.usage_add(ts runner.tasks[], sign integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
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
    cached_input_tokens = b.cached_input_tokens + excluded.cached_input_tokens, cost_usd = b.cost_usd + excluded.cost_usd;
END
$$;
