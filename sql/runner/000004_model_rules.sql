-- The runner's copy of each model's rules (issue 11, services/kit/src/adapters/rules.ts), carried by
-- registry.model.changed: tasks are checked against them at creation, and an attempt tells the adapter
-- whether its model is a reasoning model. Null: a copy made before models had rules (the kind's default
-- applies until the next event or fetch brings them).
ALTER TABLE runner.models ADD COLUMN rules jsonb CHECK (rules IS NULL OR jsonb_typeof(rules) = 'object');
