-- Accounts and access (issue 6): accounts with roles, browser sessions, API tokens, the one-time setup
-- code of a fresh install, login attempts (rate limit) and the audit log fed by audit events.

CREATE TABLE gateway.accounts (
  id uuid PRIMARY KEY,
  email text NOT NULL CHECK (email = lower(email) AND length(email) <= 254 AND email ~ '^[^@\s]+@[^@\s]+$'),
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  role text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
  -- scrypt$<log2 N>$<r>$<p>$<salt b64url>$<hash b64url> (services/gateway/src/passwords.ts)
  password_hash text NOT NULL CHECK (password_hash LIKE 'scrypt$%'),
  disabled_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX accounts_email_key ON gateway.accounts (email);

-- A browser session: the cookie carries a random secret, the table only its SHA-256.
CREATE TABLE gateway.sessions (
  id uuid PRIMARY KEY,
  secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
  account_id uuid NOT NULL REFERENCES gateway.accounts (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  user_agent text CHECK (length(user_agent) <= 500),
  CHECK (expires_at > created_at)
);
CREATE INDEX sessions_account_idx ON gateway.sessions (account_id);
CREATE INDEX sessions_expires_idx ON gateway.sessions (expires_at);

-- An API token: shown once, stored as its SHA-256 (tokens are 256 random bits, so a fast hash is enough).
CREATE TABLE gateway.api_tokens (
  id uuid PRIMARY KEY,
  account_id uuid NOT NULL REFERENCES gateway.accounts (id) ON DELETE CASCADE,
  name text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  secret_hash bytea NOT NULL UNIQUE CHECK (length(secret_hash) = 32),
  -- The first characters of the token, so a person can tell tokens apart; never enough to use it.
  prefix text NOT NULL CHECK (length(prefix) BETWEEN 8 AND 16),
  scopes text[] NOT NULL CHECK (
    cardinality(scopes) >= 1
    AND scopes <@ ARRAY['registry:read', 'registry:write', 'prompts:read', 'prompts:write', 'tasks:read',
                        'tasks:write', 'workflow:read', 'workflow:write', 'admin']::text[]
  ),
  expires_at timestamptz,
  last_used_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_tokens_account_idx ON gateway.api_tokens (account_id, id);

-- The one-time link of a fresh install: single use, expiring, stored hashed.
CREATE TABLE gateway.setup_codes (
  code_hash bytea PRIMARY KEY CHECK (length(code_hash) = 32),
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz NOT NULL,
  used_at timestamptz,
  CHECK (expires_at > created_at)
);

-- Failed sign-ins per key ('email:<address>', 'ip:<address>'), counted over a sliding window of the
-- database's clock (DESIGN D9); old rows are deleted as new ones arrive.
CREATE TABLE gateway.login_failures (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  key text NOT NULL CHECK (length(key) <= 300),
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX login_failures_key_idx ON gateway.login_failures (key, at);

-- Every change, as the owning service recorded it (audit.change.recorded); one row per event.
CREATE TABLE gateway.audit_log (
  event_id uuid PRIMARY KEY,
  at timestamptz NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('account', 'service')),
  actor_id text NOT NULL,
  action text NOT NULL,
  service text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  before jsonb,
  after jsonb,
  request_id text,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_at_idx ON gateway.audit_log (at DESC, event_id DESC);
CREATE INDEX audit_log_resource_idx ON gateway.audit_log (resource_type, resource_id, at DESC);
CREATE INDEX audit_log_actor_idx ON gateway.audit_log (actor_id, at DESC);
CREATE INDEX audit_log_action_idx ON gateway.audit_log (action, at DESC);
