-- The history's full-text search (GET /api/v1/tasks?q=) reads a stored tsvector instead of computing
-- to_tsvector(output_text) per row. At 100,000 tasks the planner answered a search for a word in 1 % of
-- the outputs by walking the primary key newest first and computing to_tsvector for each row it passed
-- (358 ms for 51 rows; docs/bench.md, 7.2): it prices that function far below what parsing a whole
-- output costs. A stored column makes that check a comparison, and its GIN index replaces the expression
-- index (the same configuration, so the same words match). Adding it rewrites runner.tasks once.
ALTER TABLE runner.tasks
  ADD COLUMN output_search tsvector GENERATED ALWAYS AS (to_tsvector('simple', coalesce(output_text, ''))) STORED;
CREATE INDEX tasks_output_search ON runner.tasks USING gin (output_search);
DROP INDEX runner.tasks_output_search_idx;
