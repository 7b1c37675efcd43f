-- Opt-in attempt payload retention (RUNNER_ATTEMPT_PAYLOAD_RETENTION_DAYS, docs/operations.md#retention):
-- a waiver of the rule that every call is kept exactly, off by default. It removes only an attempt's wire
-- body and response text; the normalized request, usage, price, cost, status and the task's own output
-- stay. payload_removed_at says when, so the API and the dashboard show a removed payload as removed,
-- never as an empty one.
ALTER TABLE runner.attempts ADD COLUMN payload_removed_at timestamptz;

ALTER TABLE runner.attempts DROP CONSTRAINT attempts_wire_shape;
ALTER TABLE runner.attempts ADD CONSTRAINT attempts_wire_shape CHECK (
  wire IS NULL OR (
    jsonb_typeof(wire -> 'method') = 'string'
    AND jsonb_typeof(wire -> 'url') = 'string'
    AND jsonb_typeof(wire -> 'headers') = 'object'
    AND (jsonb_typeof(wire -> 'body') = 'string' OR (payload_removed_at IS NOT NULL AND NOT wire ? 'body'))
  )
);
ALTER TABLE runner.attempts ADD CONSTRAINT attempts_payload_removed CHECK (payload_removed_at IS NULL OR response_text IS NULL);

-- Tasks whose payloads retention never touches: those a workflow revision or suggestion refers to. The
-- runner cannot read the workflow's schema (docs/architecture.md#data-ownership), so it keeps this copy,
-- fed by its consumer of workflow.revision.written and workflow.run.finished (consumers/pins.ts).
CREATE TABLE runner.pinned_tasks (
  task_id uuid PRIMARY KEY,
  reason text NOT NULL CHECK (reason IN ('revision', 'suggestion')),
  pinned_at timestamptz NOT NULL DEFAULT now()
);

-- The references made before that consumer existed. SQL files run as the admin role, which reads every
-- schema; the workflow's files (all numbered below this one) have been applied by now.
INSERT INTO runner.pinned_tasks (task_id, reason)
SELECT DISTINCT source_task_id, 'revision' FROM workflow.revisions WHERE source_task_id IS NOT NULL
ON CONFLICT (task_id) DO NOTHING;
INSERT INTO runner.pinned_tasks (task_id, reason)
SELECT task_id, 'suggestion' FROM workflow.suggestions
ON CONFLICT (task_id) DO NOTHING;

-- The payload retention walks ended attempts oldest first, skipping those already done.
CREATE INDEX attempts_payload_kept_idx ON runner.attempts (ended_at) WHERE payload_removed_at IS NULL;

-- Idempotency-key retention (services/kit/src/retention.ts) takes the oldest keys first; the runner's
-- table grows with every keyed create and bus request, so it gets the index the other services' small
-- tables do without.
CREATE INDEX idempotency_keys_created_idx ON runner.idempotency_keys (created_at);
