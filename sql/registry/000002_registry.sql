-- The registry: providers (with their API key sealed, DESIGN D3), models with price history, parameter
-- presets with ordered fallback models, and idempotency keys of creates. Provider kinds are the product's
-- own vocabulary (the code has one adapter per kind), so they are a CHECK, not reference data.

CREATE TABLE registry.providers (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  kind text NOT NULL CHECK (kind IN ('openai', 'anthropic', 'ollama')),
  base_url text NOT NULL CHECK (base_url ~ '^https?://'),
  -- v1:keyId:nonce:ciphertext:tag under the current master key; the provider id is the associated data.
  api_key_envelope text CHECK (api_key_envelope LIKE 'v1:%'),
  -- The envelope under the previous master key, kept by `key rotate` so processes still running on the
  -- previous keyring keep working; cleared by the next rotation or `key rotate --drop-previous`.
  api_key_previous_envelope text CHECK (api_key_previous_envelope LIKE 'v1:%'),
  api_key_hint text,
  organization text,
  project text,
  extra_headers jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(extra_headers) = 'object'),
  timeout_ms integer NOT NULL DEFAULT 60000 CHECK (timeout_ms BETWEEN 1000 AND 600000),
  max_concurrency integer CHECK (max_concurrency > 0),
  rpm_limit integer CHECK (rpm_limit > 0),
  monthly_spend_cap_usd numeric(14, 4) CHECK (monthly_spend_cap_usd >= 0),
  enabled boolean NOT NULL DEFAULT true,
  last_used_at timestamptz,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK ((api_key_envelope IS NULL) = (api_key_hint IS NULL)),
  CHECK (api_key_previous_envelope IS NULL OR api_key_envelope IS NOT NULL)
);
-- Names are unique among providers still in use; an archived one frees its name.
CREATE UNIQUE INDEX providers_name_key ON registry.providers (lower(name)) WHERE archived_at IS NULL;

CREATE TABLE registry.models (
  id uuid PRIMARY KEY,
  provider_id uuid NOT NULL REFERENCES registry.providers (id) ON DELETE CASCADE,
  provider_model_id text NOT NULL CHECK (length(provider_model_id) BETWEEN 1 AND 200),
  display_name text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 200),
  modality text NOT NULL DEFAULT 'chat' CHECK (modality IN ('chat', 'image')),
  context_window integer CHECK (context_window > 0),
  max_output_tokens integer CHECK (max_output_tokens > 0),
  supports_streaming boolean NOT NULL DEFAULT true,
  supports_json boolean NOT NULL DEFAULT false,
  supports_vision boolean NOT NULL DEFAULT false,
  supports_tools boolean NOT NULL DEFAULT false,
  enabled boolean NOT NULL DEFAULT true,
  last_used_at timestamptz,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX models_provider_model_key ON registry.models (provider_id, provider_model_id) WHERE archived_at IS NULL;
CREATE INDEX models_provider_idx ON registry.models (provider_id);

-- Prices per million tokens (and per image), USD, each from its effective time: a new price is a new
-- row, so past calls keep the price that was in force when they started (DESIGN D9).
CREATE TABLE registry.model_prices (
  model_id uuid NOT NULL REFERENCES registry.models (id) ON DELETE CASCADE,
  effective_from timestamptz NOT NULL,
  input_per_mtok numeric(14, 6) NOT NULL CHECK (input_per_mtok >= 0),
  output_per_mtok numeric(14, 6) NOT NULL CHECK (output_per_mtok >= 0),
  cached_input_per_mtok numeric(14, 6) CHECK (cached_input_per_mtok >= 0),
  per_image numeric(14, 6) CHECK (per_image >= 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (model_id, effective_from)
);

CREATE TABLE registry.presets (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '' CHECK (length(description) <= 2000),
  model_id uuid REFERENCES registry.models (id),
  parameters jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(parameters) = 'object'),
  retry_policy jsonb NOT NULL CHECK (jsonb_typeof(retry_policy) = 'object'),
  enabled boolean NOT NULL DEFAULT true,
  archived_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX presets_name_key ON registry.presets (lower(name)) WHERE archived_at IS NULL;
CREATE INDEX presets_model_idx ON registry.presets (model_id);

-- The ordered fallback models of a preset: tried in position order after the preset's own model.
CREATE TABLE registry.preset_fallbacks (
  preset_id uuid NOT NULL REFERENCES registry.presets (id) ON DELETE CASCADE,
  position smallint NOT NULL CHECK (position >= 0),
  model_id uuid NOT NULL REFERENCES registry.models (id),
  PRIMARY KEY (preset_id, position),
  UNIQUE (preset_id, model_id)
);
CREATE INDEX preset_fallbacks_model_idx ON registry.preset_fallbacks (model_id);

-- Idempotency-Key of creates (DESIGN D9), per caller.
CREATE TABLE registry.idempotency_keys (
  actor text NOT NULL,
  key text NOT NULL,
  operation text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
