-- A year of history (issue 20, docs/bench.md 10.): the history list's time window (GET /api/v1/tasks with
-- created_after / created_before) and the usage rollup's (from / to) had no index on created_at. At
-- 1,000,000 tasks a day 200 days back was found by reading the whole table and sorting it; with this index
-- the window's rows are read alone and the newest 51 of them kept. Building it takes the table's write
-- lock for as long as the build (seconds at a million tasks): apply it when no runner is claiming.
CREATE INDEX tasks_created_idx ON runner.tasks (created_at);
