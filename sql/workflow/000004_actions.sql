-- LLM actions, per-post choices, action runs and suggestions (docs/workflow.md, ADR 0016).

-- An automation bound to a substage: a template (version or label), a model and/or preset (or the
-- template's defaults), an input mapping, a target field (a section field runs once per section), a mode.
CREATE TABLE workflow.actions (
  id uuid PRIMARY KEY,
  substage_id uuid NOT NULL REFERENCES workflow.substages (id),
  label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  position integer NOT NULL,
  template_id uuid NOT NULL,
  template_version integer CHECK (template_version > 0),
  template_label text CHECK (char_length(template_label) BETWEEN 1 AND 63),
  model_id uuid,
  preset_id uuid,
  inputs jsonb NOT NULL DEFAULT '{}',
  target_field_id uuid NOT NULL REFERENCES workflow.fields (id),
  mode text NOT NULL CHECK (mode IN ('review', 'apply')),
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (template_version IS NULL OR template_label IS NULL)
);
CREATE INDEX actions_substage ON workflow.actions (substage_id, position);

-- A post's own choices for an action (the legacy post_substage_action): hide it, or override its inputs
-- and target field.
CREATE TABLE workflow.post_action_choices (
  post_id uuid NOT NULL REFERENCES workflow.posts (id),
  action_id uuid NOT NULL REFERENCES workflow.actions (id),
  hidden boolean NOT NULL DEFAULT false,
  inputs jsonb,
  target_field_id uuid REFERENCES workflow.fields (id),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (post_id, action_id)
);

-- One press of an action for one target (a post field, or one section's field): its id is the task
-- request's idempotency key. What the run read (each input's value and revision, the target's base
-- revision) is kept here, never in the task's correlation, which every event-stream client can see.
CREATE TABLE workflow.action_runs (
  id uuid PRIMARY KEY,
  action_id uuid NOT NULL REFERENCES workflow.actions (id),
  post_id uuid NOT NULL REFERENCES workflow.posts (id),
  section_id uuid REFERENCES workflow.sections (id),
  target_field_id uuid NOT NULL REFERENCES workflow.fields (id),
  target_base_revision_id uuid REFERENCES workflow.revisions (id),
  mode text NOT NULL CHECK (mode IN ('review', 'apply')),
  inputs jsonb NOT NULL,
  request jsonb NOT NULL,
  requested_by text NOT NULL,
  status text NOT NULL DEFAULT 'requested'
    CHECK (status IN ('requested', 'suggested', 'applied', 'conflict', 'failed', 'rejected', 'cancelled', 'obsolete')),
  task_id uuid UNIQUE,
  error jsonb,
  output_text text,
  cost_usd numeric(20, 12),
  created_at timestamptz NOT NULL DEFAULT now(),
  finished_at timestamptz
);
CREATE INDEX action_runs_post ON workflow.action_runs (post_id, id);

-- A task's result offered for a field, one per task. `conflict`: the target changed after the run's
-- base revision; `obsolete`: its section was removed meanwhile.
CREATE TABLE workflow.suggestions (
  id uuid PRIMARY KEY,
  task_id uuid NOT NULL UNIQUE,
  action_run_id uuid NOT NULL UNIQUE REFERENCES workflow.action_runs (id),
  post_id uuid NOT NULL REFERENCES workflow.posts (id),
  section_id uuid REFERENCES workflow.sections (id),
  field_id uuid NOT NULL REFERENCES workflow.fields (id),
  value jsonb,
  base_revision_id uuid REFERENCES workflow.revisions (id),
  valid boolean NOT NULL,
  invalid_reasons jsonb NOT NULL DEFAULT '[]',
  status text NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'superseded', 'conflict', 'obsolete')),
  decided_by text,
  decided_at timestamptz,
  revision_id uuid REFERENCES workflow.revisions (id),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX suggestions_post ON workflow.suggestions (post_id, id);

-- At most one revision per source task and value: the write-back of a task is keyed by it.
CREATE UNIQUE INDEX revisions_task_once ON workflow.revisions (value_id, source_task_id)
  WHERE source_task_id IS NOT NULL AND author_kind = 'task';
