-- The history list's time window (docs/bench.md 10.): a day 200 days back holds some 2,700 of a million
-- tasks, and the list sorted them all by id for the newest 51, reading each wide row from the table first.
-- With the id in the created_at index the list finds the window's newest 51 ids from the index alone (an
-- index-only scan and a sort of ids), then reads those 51 rows (db/reads.ts `list`). It replaces
-- tasks_created_idx rather than adding an index: every task's write already has an entry here; the entry
-- grows from 8 to 24 bytes of key (16 bytes more of WAL per row version written). The usage rollup's windows
-- use it as they used the old one. Building it takes the table's write lock for as long as the build
-- (seconds at a million tasks): apply it when no runner is claiming.
CREATE INDEX tasks_created_id_idx ON runner.tasks (created_at) INCLUDE (id);
DROP INDEX runner.tasks_created_idx;
