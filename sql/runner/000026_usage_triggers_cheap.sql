-- Less PostgreSQL CPU per statement that writes runner.tasks (issue 14, docs/bench.md "Issue 14, pgcpu").
--
-- 1. The usage triggers' WHEN clauses (sql/runner/000019). PostgreSQL reads a trigger's WHEN clause back from its
--    stored node string and compiles it once per statement that fires the trigger's event, whether or not the
--    row qualifies: every claim, finish, lease extension and create paid for 8.5 kB of node strings (the two update
--    triggers' 7.4 kB, the long one an IS DISTINCT FROM over eight columns) before their first row. The CHECK
--    tasks_check1 makes "ended" and `finished_at IS NOT NULL` the same thing in every row version, so the clauses
--    test that instead, and the two update triggers become one: it fires only for a row that is or was ended (the
--    claim's, the lease's and a retry's updates are neither), and the function tells a task that ends now from a
--    counted one whose figures change, as the two functions did. An update of an ended task that changes none of
--    its figures (rare: a released reservation, a legacy re-import of the same record) now calls the function,
--    which does nothing.
-- 2. The price in force when an attempt started, for the attempts that end together (services/runner/src/tasks/
--    cost.ts): as one statement of arrays it was planned at every call, 1,500 plans for 1,490 calls in the steady
--    state. PostgreSQL keeps a statement's generic plan only when it costs less than its custom plans: a generic
--    plan counts ten elements in a parameter array, a custom one the array's own one or two, so the generic plan
--    always lost. The lookup is now a PL/pgSQL function whose statement is planned once per connection.
CREATE FUNCTION runner.usage_task_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.finished_at IS NULL THEN
    -- Ended now: marked pending, in the transaction that ends it.
    INSERT INTO runner.usage_pending (task_id) VALUES (NEW.id);
    RETURN NULL;
  END IF;
  IF (OLD.status, OLD.created_at, OLD.model_id, OLD.provider_id, OLD.template_id, OLD.attempts, OLD.usage, OLD.cost_usd)
      IS NOT DISTINCT FROM (NEW.status, NEW.created_at, NEW.model_id, NEW.provider_id, NEW.template_id, NEW.attempts,
        NEW.usage, NEW.cost_usd) THEN
    RETURN NULL;
  END IF;
  -- Ended before, and its counted figures change (runner.usage_task_changed, sql/runner/000019): still pending, its
  -- pending row is locked first, so a consumer adding it right now finishes before this looks; counted, its old
  -- figures leave their buckets and the new ones enter.
  IF NEW.finished_at IS NOT NULL THEN
    PERFORM 1 FROM runner.usage_pending WHERE task_id = OLD.id FOR KEY SHARE;
  ELSE
    -- No longer ended (never done today): the task leaves the pending rows too.
    DELETE FROM runner.usage_pending WHERE task_id = OLD.id;
  END IF;
  IF NOT FOUND THEN
    PERFORM runner.usage_add(ARRAY[OLD], -1);
    IF NEW.finished_at IS NOT NULL THEN
      PERFORM runner.usage_add(ARRAY[NEW], 1);
    END IF;
  END IF;
  RETURN NULL;
END
$$;

DROP TRIGGER tasks_usage_ended_update ON runner.tasks;
DROP TRIGGER tasks_usage_changed_update ON runner.tasks;
CREATE TRIGGER tasks_usage_update AFTER UPDATE ON runner.tasks
  FOR EACH ROW WHEN (OLD.finished_at IS NOT NULL OR NEW.finished_at IS NOT NULL)
  EXECUTE FUNCTION runner.usage_task_updated();

DROP TRIGGER tasks_usage_ended_insert ON runner.tasks;
CREATE TRIGGER tasks_usage_ended_insert AFTER INSERT ON runner.tasks
  FOR EACH ROW WHEN (NEW.finished_at IS NOT NULL) EXECUTE FUNCTION runner.usage_task_ended();

DROP TRIGGER tasks_usage_changed_delete ON runner.tasks;
CREATE TRIGGER tasks_usage_changed_delete AFTER DELETE ON runner.tasks
  FOR EACH ROW WHEN (OLD.finished_at IS NOT NULL) EXECUTE FUNCTION runner.usage_task_changed();

-- The price of each attempt (model, start) in force at its start, by its position n (1-based); null where its model
-- has none. One plan per connection: the generic plan is the same index walk per attempt as the custom ones.
CREATE FUNCTION runner.prices_at_start(model_ids uuid[], started timestamptz[])
  RETURNS TABLE (n bigint, price jsonb)
  LANGUAGE plpgsql STABLE ROWS 2 SET plan_cache_mode = force_generic_plan AS $$
BEGIN
  RETURN QUERY
    SELECT a.n, to_jsonb(pr)
    FROM unnest(model_ids, started) WITH ORDINALITY AS a(model_id, at, n)
    LEFT JOIN LATERAL (
      SELECT p.input_per_mtok::text AS input_per_mtok, p.output_per_mtok::text AS output_per_mtok,
        p.cached_input_per_mtok::text AS cached_input_per_mtok, p.per_image::text AS per_image, p.effective_from
      FROM runner.model_prices p WHERE p.model_id = a.model_id AND p.effective_from <= a.at
      ORDER BY p.effective_from DESC LIMIT 1) pr ON true;
END
$$;
REVOKE ALL ON FUNCTION runner.prices_at_start(uuid[], timestamptz[]) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION runner.prices_at_start(uuid[], timestamptz[]) TO llmops_runner;
