-- Issue 11, the runner's outcome and cost (docs/tasks.md).
--
-- Models a task moved past without a request: a model whose provider is at its monthly spend cap is
-- skipped for the next model of the chain, and the task says so here (an attempt row is a provider
-- request, and none was made). Each entry: model_index, model_id, provider_id, kind, message, at.
ALTER TABLE runner.tasks ADD COLUMN skipped_models jsonb NOT NULL DEFAULT '[]'::jsonb
  CHECK (jsonb_typeof(skipped_models) = 'array');
