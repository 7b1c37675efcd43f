-- The runner: durable LLM tasks and their attempts, plus the runner's own copies of what it needs from
-- the registry (DESIGN "Data ownership"): provider limits, models and presets, and each model's price
-- history, fed by registry events and, on a miss, by asking the registry. Task states are the product's
-- own vocabulary (the code branches on them), so they are CHECKs.

-- ---- copies of the registry, kept by registry.*.changed events (newest updated_at wins) ----

CREATE TABLE runner.providers (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  kind text NOT NULL CHECK (kind IN ('openai', 'anthropic', 'ollama')),
  timeout_ms integer NOT NULL,
  max_concurrency integer CHECK (max_concurrency > 0),
  rpm_limit integer CHECK (rpm_limit > 0),
  monthly_spend_cap_usd numeric(14, 4) CHECK (monthly_spend_cap_usd >= 0),
  enabled boolean NOT NULL,
  archived_at timestamptz,
  deleted boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL,
  -- Set when the provider answered 429 with Retry-After: no task of it is claimed before then.
  paused_until timestamptz
);

CREATE TABLE runner.models (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL,
  provider_kind text NOT NULL CHECK (provider_kind IN ('openai', 'anthropic', 'ollama')),
  provider_model_id text NOT NULL,
  display_name text NOT NULL,
  modality text NOT NULL CHECK (modality IN ('chat', 'image')),
  context_window integer,
  max_output_tokens integer,
  supports_json boolean NOT NULL DEFAULT false,
  enabled boolean NOT NULL,
  archived_at timestamptz,
  deleted boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL
);

-- Prices per million tokens (and per image), USD, each from its effective time. Rows are only ever
-- added: an attempt is charged the price in force when it started, even if the registry changes later.
CREATE TABLE runner.model_prices (
  model_id uuid NOT NULL REFERENCES runner.models (id) ON DELETE CASCADE,
  effective_from timestamptz NOT NULL,
  input_per_mtok numeric(14, 6) NOT NULL,
  output_per_mtok numeric(14, 6) NOT NULL,
  cached_input_per_mtok numeric(14, 6),
  per_image numeric(14, 6),
  PRIMARY KEY (model_id, effective_from)
);

CREATE TABLE runner.presets (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  model_id uuid,
  parameters jsonb NOT NULL,
  retry_policy jsonb NOT NULL,
  fallback_model_ids uuid[] NOT NULL,
  enabled boolean NOT NULL,
  archived_at timestamptz,
  deleted boolean NOT NULL DEFAULT false,
  updated_at timestamptz NOT NULL
);

-- ---- tasks ----

-- Tasks created together on several models, to compare them side by side.
CREATE TABLE runner.task_groups (
  id uuid PRIMARY KEY,
  requester text NOT NULL,
  correlation jsonb CHECK (correlation IS NULL OR jsonb_typeof(correlation) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE runner.tasks (
  id uuid PRIMARY KEY,
  group_id uuid REFERENCES runner.task_groups (id),
  -- A retry is a new task with the same snapshot, linked to the one it retries.
  retry_of uuid REFERENCES runner.tasks (id),
  -- Who asked: `account:<id>`, `service:<name>`; idempotency keys are scoped to it (DESIGN D6).
  requester text NOT NULL,
  source text NOT NULL CHECK (source IN ('api', 'bus', 'retry')),
  idempotency_key text CHECK (char_length(idempotency_key) BETWEEN 1 AND 200),
  request_hash text,
  status text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'rejected')),
  kind text NOT NULL CHECK (kind IN ('chat', 'image')),
  priority integer NOT NULL DEFAULT 0 CHECK (priority BETWEEN -100 AND 100),
  correlation jsonb CHECK (correlation IS NULL OR jsonb_typeof(correlation) = 'object'),
  -- Lineage: what the messages came from.
  template_id uuid,
  template_version integer,
  template_label text,
  part_versions jsonb NOT NULL DEFAULT '[]',
  preset_id uuid,
  inputs jsonb NOT NULL DEFAULT '{}',
  -- Exactly what will be sent: messages, parameters, the model chain (model first, then fallbacks),
  -- retry policy and timeouts. Never changes after creation.
  snapshot jsonb NOT NULL,
  -- Where the task stands in its model chain, and the model and provider it runs on now.
  model_index integer NOT NULL DEFAULT 0,
  model_id uuid,
  provider_id uuid,
  -- Attempts on the current model, and in all.
  model_attempts integer NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  run_after timestamptz NOT NULL DEFAULT now(),
  lease_owner text,
  lease_expires_at timestamptz,
  cancel_requested_at timestamptz,
  -- The spend-cap reservation this task holds, if any (released when it ends or moves on).
  reserved_usd numeric(14, 6) NOT NULL DEFAULT 0,
  reserved_provider_id uuid,
  reserved_month date,
  -- The outcome.
  output_text text,
  finish_reason text,
  usage jsonb,
  cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
  error jsonb,
  problems jsonb,
  -- Timing honesty, summed over attempts (each attempt has its own): see runner.attempts.
  queue_wait_ms integer NOT NULL DEFAULT 0,
  provider_ms integer NOT NULL DEFAULT 0,
  overhead_ms integer NOT NULL DEFAULT 0,
  time_to_first_token_ms integer,
  created_at timestamptz NOT NULL DEFAULT now(),
  started_at timestamptz,
  finished_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((status = 'running') = (lease_owner IS NOT NULL)),
  CHECK ((status IN ('succeeded', 'failed', 'cancelled', 'rejected')) = (finished_at IS NOT NULL))
);

CREATE UNIQUE INDEX tasks_idempotency_key ON runner.tasks (requester, idempotency_key) WHERE idempotency_key IS NOT NULL;
-- The claim: queued tasks by priority, then due time.
CREATE INDEX tasks_queued_idx ON runner.tasks (priority DESC, run_after, id) WHERE status = 'queued';
-- Concurrency at claim time and the lease reaper.
CREATE INDEX tasks_running_idx ON runner.tasks (provider_id, lease_expires_at) WHERE status = 'running';
CREATE INDEX tasks_group_idx ON runner.tasks (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX tasks_retry_of_idx ON runner.tasks (retry_of) WHERE retry_of IS NOT NULL;
CREATE INDEX tasks_template_idx ON runner.tasks (template_id, id DESC) WHERE template_id IS NOT NULL;
CREATE INDEX tasks_model_idx ON runner.tasks (model_id, id DESC);
CREATE INDEX tasks_status_idx ON runner.tasks (status, id DESC);
CREATE INDEX tasks_correlation_idx ON runner.tasks USING gin (correlation jsonb_path_ops);
CREATE INDEX tasks_output_search_idx ON runner.tasks USING gin (to_tsvector('simple', coalesce(output_text, '')));

-- One provider request each (DESIGN D6, D7): what was sent (normalized and on the wire, never the key),
-- what came back, usage, cost, timing, error. Rows are written when the attempt is claimed and finished
-- when it ends, so a process that dies mid-call leaves an `abandoned` attempt, never a missing one.
CREATE TABLE runner.attempts (
  id uuid PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES runner.tasks (id),
  number integer NOT NULL CHECK (number > 0),
  model_index integer NOT NULL,
  model_id uuid NOT NULL,
  provider_id uuid NOT NULL,
  provider_model_id text NOT NULL,
  worker text NOT NULL,
  status text NOT NULL CHECK (status IN ('running', 'succeeded', 'failed', 'cancelled', 'abandoned')),
  request jsonb NOT NULL,
  wire jsonb,
  response_text text,
  finish_reason text,
  provider_finish_reason text,
  response_id text,
  usage jsonb,
  price jsonb,
  cost_usd numeric(14, 6) NOT NULL DEFAULT 0,
  error jsonb,
  -- Timing honesty: queue wait before the claim; provider time (the SDK call); our own overhead (the
  -- rest of the attempt: credentials, building the request, recording); time to first token.
  queue_wait_ms integer NOT NULL,
  provider_ms integer,
  overhead_ms integer,
  latency_ms integer,
  time_to_first_token_ms integer,
  started_at timestamptz NOT NULL DEFAULT now(),
  ended_at timestamptz,
  UNIQUE (task_id, number),
  CHECK ((status = 'running') = (ended_at IS NULL))
);
-- Requests per minute: attempts a provider started in the last 60 seconds.
CREATE INDEX attempts_provider_started_idx ON runner.attempts (provider_id, started_at);
CREATE INDEX attempts_ended_idx ON runner.attempts (ended_at);

-- Images made by image tasks, kept in PostgreSQL (never on a disk of one instance).
CREATE TABLE runner.images (
  id uuid PRIMARY KEY,
  task_id uuid NOT NULL REFERENCES runner.tasks (id),
  attempt_id uuid NOT NULL REFERENCES runner.attempts (id),
  index integer NOT NULL CHECK (index >= 0),
  content_type text NOT NULL,
  size_bytes integer NOT NULL CHECK (size_bytes >= 0),
  revised_prompt text,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (task_id, index)
);

-- Spend per provider and month (UTC): what was charged, and what running tasks have reserved. Claims
-- lock the row, so concurrent runners never reserve past the cap.
CREATE TABLE runner.provider_spend (
  provider_id uuid NOT NULL,
  month date NOT NULL,
  spent_usd numeric(14, 6) NOT NULL DEFAULT 0,
  reserved_usd numeric(14, 6) NOT NULL DEFAULT 0 CHECK (reserved_usd >= 0),
  PRIMARY KEY (provider_id, month)
);

CREATE TABLE runner.idempotency_keys (
  actor text NOT NULL,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  operation text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
