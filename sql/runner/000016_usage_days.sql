-- The usage rollup's coarser level (docs/bench.md 10.): an hourly bucket keyed by template barely compresses a
-- year (an hour of a busy year has a row per model and template), so a window's whole UTC days are read from
-- day rows for every grouping but `day` (a day in a zone is not a UTC day). Kept by the same trigger as the
-- hours (sql/runner/000015), so a task is in both or in neither.
CREATE TABLE runner.usage_days (
  day timestamptz NOT NULL CHECK (day = date_trunc('day', day, 'UTC')),
  model_id uuid,
  provider_id uuid,
  template_id uuid,
  tasks integer NOT NULL,
  succeeded integer NOT NULL,
  failed integer NOT NULL,
  attempts bigint NOT NULL,
  input_tokens bigint NOT NULL,
  output_tokens bigint NOT NULL,
  cached_input_tokens bigint NOT NULL,
  cost_usd numeric NOT NULL
);
CREATE UNIQUE INDEX usage_days_key ON runner.usage_days (day, model_id, provider_id, template_id) NULLS NOT DISTINCT;

CREATE OR REPLACE FUNCTION runner.usage_hours_add(t runner.tasks, sign integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO runner.usage_hours AS h (hour, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
      input_tokens, output_tokens, cached_input_tokens, cost_usd)
    VALUES (date_trunc('hour', t.created_at, 'UTC'), t.model_id, t.provider_id, t.template_id, sign,
      CASE WHEN t.status = 'succeeded' THEN sign ELSE 0 END, CASE WHEN t.status = 'failed' THEN sign ELSE 0 END,
      sign * t.attempts, sign * coalesce((t.usage ->> 'input_tokens')::bigint, 0),
      sign * coalesce((t.usage ->> 'output_tokens')::bigint, 0),
      sign * coalesce((t.usage ->> 'cached_input_tokens')::bigint, 0), sign * t.cost_usd)
  ON CONFLICT (hour, model_id, provider_id, template_id) DO UPDATE SET
    tasks = h.tasks + excluded.tasks, succeeded = h.succeeded + excluded.succeeded, failed = h.failed + excluded.failed,
    attempts = h.attempts + excluded.attempts, input_tokens = h.input_tokens + excluded.input_tokens,
    output_tokens = h.output_tokens + excluded.output_tokens,
    cached_input_tokens = h.cached_input_tokens + excluded.cached_input_tokens, cost_usd = h.cost_usd + excluded.cost_usd;
  INSERT INTO runner.usage_days AS d (day, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
      input_tokens, output_tokens, cached_input_tokens, cost_usd)
    VALUES (date_trunc('day', t.created_at, 'UTC'), t.model_id, t.provider_id, t.template_id, sign,
      CASE WHEN t.status = 'succeeded' THEN sign ELSE 0 END, CASE WHEN t.status = 'failed' THEN sign ELSE 0 END,
      sign * t.attempts, sign * coalesce((t.usage ->> 'input_tokens')::bigint, 0),
      sign * coalesce((t.usage ->> 'output_tokens')::bigint, 0),
      sign * coalesce((t.usage ->> 'cached_input_tokens')::bigint, 0), sign * t.cost_usd)
  ON CONFLICT (day, model_id, provider_id, template_id) DO UPDATE SET
    tasks = d.tasks + excluded.tasks, succeeded = d.succeeded + excluded.succeeded, failed = d.failed + excluded.failed,
    attempts = d.attempts + excluded.attempts, input_tokens = d.input_tokens + excluded.input_tokens,
    output_tokens = d.output_tokens + excluded.output_tokens,
    cached_input_tokens = d.cached_input_tokens + excluded.cached_input_tokens, cost_usd = d.cost_usd + excluded.cost_usd
$$;

INSERT INTO runner.usage_days (day, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
    input_tokens, output_tokens, cached_input_tokens, cost_usd)
  SELECT date_trunc('day', hour, 'UTC'), model_id, provider_id, template_id, sum(tasks), sum(succeeded), sum(failed),
    sum(attempts), sum(input_tokens), sum(output_tokens), sum(cached_input_tokens), sum(cost_usd)
  FROM runner.usage_hours
  GROUP BY 1, 2, 3, 4;
