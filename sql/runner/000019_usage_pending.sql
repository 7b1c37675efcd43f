-- The usage rollup's "not yet counted" mark, made cheap (docs/adr/0020-usage-rollup.md). It was a column of
-- runner.tasks with a partial index: the consumer's `UPDATE runner.tasks SET usage_pending = false` wrote a
-- new version of the wide task row with an entry in each of its indexes (the partial index on the flag
-- blocked a HOT update) for every task that ended: 0.20 backends of PostgreSQL in the runner's steady state
-- (issue 14's bench). Now an ended task not yet in its buckets has a row in a narrow table, inserted by the
-- trigger that sees the task end and deleted by the consumer in the transaction that adds the task to its
-- buckets. The tasks not counted are the unfinished ones (queued, running: found by status) and the ended
-- ones with a row here.
CREATE TABLE runner.usage_pending (
  task_id uuid PRIMARY KEY
);
-- No foreign key to runner.tasks: its check would lock the task row at every ending. The delete trigger
-- below removes a deleted task's row instead.

INSERT INTO runner.usage_pending (task_id)
  SELECT id FROM runner.tasks WHERE usage_pending AND status IN ('succeeded', 'failed', 'cancelled', 'rejected');

DROP TRIGGER tasks_usage_hours_update ON runner.tasks;
DROP TRIGGER tasks_usage_hours_delete ON runner.tasks;
DROP FUNCTION runner.usage_hours_follow();
DROP FUNCTION runner.usage_hours_add(runner.tasks, integer);
-- Drops tasks_usage_pending_idx with it (a catalog change: the table is not rewritten).
ALTER TABLE runner.tasks DROP COLUMN usage_pending;

-- A task that ends (an update into an ended status, or a row inserted ended: a rejected request, a legacy
-- record) is marked pending, in the transaction that ends it; its event follows in that transaction.
CREATE FUNCTION runner.usage_task_ended() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO runner.usage_pending (task_id) VALUES (NEW.id);
  RETURN NULL;
END
$$;
CREATE TRIGGER tasks_usage_ended_insert AFTER INSERT ON runner.tasks
  FOR EACH ROW WHEN (NEW.status IN ('succeeded', 'failed', 'cancelled', 'rejected'))
  EXECUTE FUNCTION runner.usage_task_ended();
CREATE TRIGGER tasks_usage_ended_update AFTER UPDATE OF status ON runner.tasks
  FOR EACH ROW WHEN (OLD.status NOT IN ('succeeded', 'failed', 'cancelled', 'rejected')
    AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'rejected'))
  EXECUTE FUNCTION runner.usage_task_ended();

-- An ended task whose counted figures change (a legacy re-import links a template; a lost attempt's cost
-- arrives) or that is deleted. Still pending: nothing to move (the consumer reads the task when it adds it),
-- but the pending row is locked first, so a consumer that is adding the task right now finishes before this
-- looks (FOR KEY SHARE waits for its DELETE), and one that comes after reads this change. Counted: its old
-- figures leave their buckets and the new ones enter.
CREATE FUNCTION runner.usage_task_changed() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ended_now boolean := TG_OP = 'UPDATE' AND NEW.status IN ('succeeded', 'failed', 'cancelled', 'rejected');
BEGIN
  IF ended_now THEN
    PERFORM 1 FROM runner.usage_pending WHERE task_id = OLD.id FOR KEY SHARE;
  ELSE
    -- Deleted, or (never done today) no longer ended: the task leaves the pending rows too.
    DELETE FROM runner.usage_pending WHERE task_id = OLD.id;
  END IF;
  IF NOT FOUND THEN
    PERFORM runner.usage_add(ARRAY[OLD], -1);
    IF ended_now THEN
      PERFORM runner.usage_add(ARRAY[NEW], 1);
    END IF;
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER tasks_usage_changed_update AFTER UPDATE ON runner.tasks
  FOR EACH ROW WHEN (OLD.status IN ('succeeded', 'failed', 'cancelled', 'rejected')
    AND (OLD.status, OLD.created_at, OLD.model_id, OLD.provider_id, OLD.template_id, OLD.attempts, OLD.usage, OLD.cost_usd)
      IS DISTINCT FROM (NEW.status, NEW.created_at, NEW.model_id, NEW.provider_id, NEW.template_id, NEW.attempts, NEW.usage,
        NEW.cost_usd))
  EXECUTE FUNCTION runner.usage_task_changed();
CREATE TRIGGER tasks_usage_changed_delete AFTER DELETE ON runner.tasks
  FOR EACH ROW WHEN (OLD.status IN ('succeeded', 'failed', 'cancelled', 'rejected'))
  EXECUTE FUNCTION runner.usage_task_changed();

-- The consumer's one call (services/runner/src/tasks/usage.ts): adds these ended tasks to their buckets, once,
-- and answers how many. Their pending rows are deleted first; then, in a statement of its own (so with a
-- snapshot taken after the delete's lock waits: a change that held a pending row is seen), the tasks are
-- read and added. One statement for the caller, so the bucket rows it locks are held only until it commits,
-- never across a round trip to the client.
CREATE FUNCTION runner.usage_count(task_ids uuid[]) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  gone uuid[];
BEGIN
  WITH d AS (DELETE FROM runner.usage_pending WHERE task_id = ANY(task_ids) RETURNING task_id)
  SELECT array_agg(task_id) INTO gone FROM d;
  IF gone IS NULL THEN
    RETURN 0;
  END IF;
  PERFORM runner.usage_add(array_agg(t ORDER BY t.id), 1) FROM runner.tasks t WHERE t.id = ANY(gone);
  RETURN cardinality(gone);
END
$$;
