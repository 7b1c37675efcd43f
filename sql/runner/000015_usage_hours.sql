-- The usage rollup at a year of history (issue 20, docs/bench.md 10.): GET /api/v1/usage read every task
-- of its window. Now each ended task is added once to an hourly bucket by the runner.usage consumer group
-- (services/runner/src/consumers/usage.ts), off the finish path, and the rollup reads the buckets plus
-- the tasks not in them yet (docs/tasks.md "Usage rollup").
--
-- tasks.usage_pending: true until the task's figures are in runner.usage_hours. Rows made before this file
-- are counted by the backfill below, so the column is added as false (no table rewrite) and only the
-- unfinished tasks set to true; new rows default to true.
ALTER TABLE runner.tasks ADD COLUMN usage_pending boolean NOT NULL DEFAULT false;
UPDATE runner.tasks SET usage_pending = true WHERE status IN ('queued', 'running');
ALTER TABLE runner.tasks ALTER COLUMN usage_pending SET DEFAULT true;

-- The rollup's live part: tasks not in the buckets yet (unfinished, or ended and not yet consumed).
CREATE INDEX tasks_usage_pending_idx ON runner.tasks (created_at) WHERE usage_pending;

-- One row per UTC hour (of created_at) and model, provider and template the tasks ran on last: the sums
-- the rollup returns. A day in any zone whose offset is whole hours (Europe/Berlin's, in summer and
-- winter) is a sum of these hours.
CREATE TABLE runner.usage_hours (
  hour timestamptz NOT NULL CHECK (hour = date_trunc('hour', hour, 'UTC')),
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
  -- Unconstrained: a sum of tasks.cost_usd keeps its scale (12), so the rollup's text is the same.
  cost_usd numeric NOT NULL
);
CREATE UNIQUE INDEX usage_hours_key ON runner.usage_hours (hour, model_id, provider_id, template_id) NULLS NOT DISTINCT;

-- Adds (sign 1) or takes away (sign -1) one task's figures in its bucket.
CREATE FUNCTION runner.usage_hours_add(t runner.tasks, sign integer) RETURNS void LANGUAGE sql AS $$
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
    cached_input_tokens = h.cached_input_tokens + excluded.cached_input_tokens, cost_usd = h.cost_usd + excluded.cost_usd
$$;

-- A task enters its bucket when usage_pending turns false (the consumer, the legacy import). A counted
-- task that changes later (a legacy re-import links a template; a lost attempt's cost arrives) or is
-- deleted moves its figures with it. The finish path updates tasks still pending: the WHEN clause keeps
-- this trigger from running there at all.
CREATE FUNCTION runner.usage_hours_follow() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP IN ('UPDATE', 'DELETE') AND NOT OLD.usage_pending THEN
    PERFORM runner.usage_hours_add(OLD, -1);
  END IF;
  IF TG_OP = 'UPDATE' AND NOT NEW.usage_pending THEN
    PERFORM runner.usage_hours_add(NEW, 1);
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER tasks_usage_hours_update AFTER UPDATE ON runner.tasks
  FOR EACH ROW WHEN (NOT OLD.usage_pending OR NOT NEW.usage_pending) EXECUTE FUNCTION runner.usage_hours_follow();
CREATE TRIGGER tasks_usage_hours_delete AFTER DELETE ON runner.tasks
  FOR EACH ROW WHEN (NOT OLD.usage_pending) EXECUTE FUNCTION runner.usage_hours_follow();

-- The backfill: every task made before this file that is not pending.
INSERT INTO runner.usage_hours (hour, model_id, provider_id, template_id, tasks, succeeded, failed, attempts,
    input_tokens, output_tokens, cached_input_tokens, cost_usd)
  SELECT date_trunc('hour', created_at, 'UTC'), model_id, provider_id, template_id, count(*),
    count(*) FILTER (WHERE status = 'succeeded'), count(*) FILTER (WHERE status = 'failed'), sum(attempts),
    coalesce(sum((usage ->> 'input_tokens')::bigint), 0), coalesce(sum((usage ->> 'output_tokens')::bigint), 0),
    coalesce(sum((usage ->> 'cached_input_tokens')::bigint), 0), sum(cost_usd)
  FROM runner.tasks WHERE NOT usage_pending
  GROUP BY 1, 2, 3, 4;
