-- Issue 11, the runner's outcome and cost (docs/tasks.md).
--
-- Models a task moved past without a request: a model whose provider is at its monthly spend cap is
-- skipped for the next model of the chain, and the task says so here (an attempt row is a provider
-- request, and none was made). Each entry: model_index, model_id, provider_id, kind, message, at.
ALTER TABLE runner.tasks ADD COLUMN skipped_models jsonb NOT NULL DEFAULT '[]'::jsonb
  CHECK (jsonb_typeof(skipped_models) = 'array');

-- Money keeps twelve places (docs/tasks.md#cost): numeric(14, 6) rounded each attempt to a millionth of
-- a dollar (2.85 µ$ stored as 0.000003, +5 %), so a month of cheap calls drifted from the provider's
-- bill. Prices have at most six places per million tokens, so a token's cost is a whole number of
-- 10⁻¹² USD: at twelve places every attempt's cost is exact, and so is every sum of them. Eight digits
-- before the point still hold 99,999,999.99 USD per task or per provider month. Widening the scale
-- keeps every stored value as it was; the tables are rewritten once.
ALTER TABLE runner.attempts ALTER COLUMN cost_usd TYPE numeric(20, 12);
ALTER TABLE runner.tasks
  ALTER COLUMN cost_usd TYPE numeric(20, 12),
  ALTER COLUMN reserved_usd TYPE numeric(20, 12);
ALTER TABLE runner.provider_spend
  ALTER COLUMN spent_usd TYPE numeric(20, 12),
  ALTER COLUMN reserved_usd TYPE numeric(20, 12);
