-- Less WAL per task (issue 14, docs/bench.md "What PostgreSQL writes per task"). pg_walinspect over the steady
-- state's window: 15.4 kB and 72 records per completed task, 46 of them B-tree entries. Every update of an
-- attempt or a task that changes an indexed column (or one in a partial index's predicate) is not HOT: it
-- writes the whole new row on another page and a new entry into every index of the table.
--
-- 1. An attempt's ending becomes a HOT update. It set ended_at, which two indexes held: attempts_ended_idx,
--    which no statement reads, and the payload retention's attempts_payload_kept_idx (ended_at). Retention
--    now walks the attempts it has not done by started_at (tasks/payload-retention.ts keeps its "ended more
--    than N days ago" test: an attempt ends within its timeouts of its start), so no index of
--    runner.attempts holds a column the ending changes. The ending then writes no index entry (five before:
--    the primary key, (task_id, number), (provider_id, started_at) and the two on ended_at) if the new row
--    fits on its page: an ended attempt is about three times its opened row (the wire body and the answer
--    join the request), so pages are filled to 30 % by inserts (four opened rows of a short prompt) and the rest
--    is left for the endings. At 40 % (five opened rows: five ended ones do not fit in 8 kB) 10-12 % of issue
--    14's steady-state endings found their page full.
--    The fillfactor applies to pages filled from now on; existing rows are not moved.
-- 2. tasks_status_idx holds ended tasks only. Its reader is the history list filtered by one status
--    (db/reads.ts: failed tasks newest first); queued and running tasks are few and have their own partial
--    indexes (tasks_queued_idx, tasks_running_idx), so the create's insert and the claim's update no longer
--    add an entry here (two fewer per task). Building it takes the table's write lock for as long as the
--    build (seconds at a million tasks): apply it when no runner is claiming.
-- 3. The output search's GIN index holds tasks with an output only. A task's queued and running versions
--    have no output, and each put an entry for its empty tsvector into the index's pending list (two of its
--    three entries per task; 130-170 bytes of WAL each). The list's search asks for `output_text IS NOT NULL`
--    beside its `@@` (db/reads.ts), which is what lets the planner use the partial index; a task without
--    an output never matched a search anyway (an empty tsvector matches no query).
-- 4. The correlation's GIN index holds tasks with a correlation only: GIN keeps an entry for a NULL too, one
--    per row version, three per task made without one. The list's `correlation @> $10` implies
--    `correlation IS NOT NULL` (the operator is strict), so the planner uses the partial index as it is.
CREATE INDEX attempts_payload_kept_started_idx ON runner.attempts (started_at) WHERE payload_removed_at IS NULL;
DROP INDEX runner.attempts_payload_kept_idx;
DROP INDEX runner.attempts_ended_idx;
ALTER TABLE runner.attempts SET (fillfactor = 30);

CREATE INDEX tasks_ended_status_idx ON runner.tasks (status, id DESC)
  WHERE status IN ('succeeded', 'failed', 'cancelled', 'rejected');
DROP INDEX runner.tasks_status_idx;

CREATE INDEX tasks_output_search_idx ON runner.tasks USING gin (output_search) WHERE output_text IS NOT NULL;
DROP INDEX runner.tasks_output_search;

CREATE INDEX tasks_correlation_some_idx ON runner.tasks USING gin (correlation jsonb_path_ops) WHERE correlation IS NOT NULL;
DROP INDEX runner.tasks_correlation_idx;
