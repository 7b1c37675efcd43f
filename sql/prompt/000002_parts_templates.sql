-- Prompt parts, templates, immutable versions and labels (docs/prompts.md).

-- Kinds of prompt part are vocabulary users may extend: reference data, not an enum in code.
CREATE TABLE prompt.part_kinds (
  name text PRIMARY KEY CHECK (name ~ '^[a-z][a-z0-9_]{0,39}$'),
  description text NOT NULL CHECK (char_length(description) <= 500),
  default_role text NOT NULL CHECK (default_role IN ('system', 'user', 'assistant')),
  position integer NOT NULL UNIQUE
);

INSERT INTO prompt.part_kinds (name, description, default_role, position) VALUES
  ('system', 'Who the model is and the ground rules it works under', 'system', 1),
  ('style', 'Voice, tone and house style of the blog', 'system', 2),
  ('task', 'What to do this time: the operation on the input', 'user', 3),
  ('data', 'The material to work on, usually filled from variables', 'user', 4),
  ('context', 'Background the model should know: the post, its audience, earlier drafts', 'user', 5),
  ('example', 'A worked example of input and the wanted output', 'user', 6),
  ('format', 'The shape of the answer: length, structure, JSON schema', 'user', 7),
  ('constraint', 'What the answer must not do or must always do', 'system', 8);

-- Rows that are history never change: a version is published once and read forever after.
CREATE FUNCTION prompt.refuse_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'rows of prompt.% are immutable: publish a new version instead', TG_TABLE_NAME
    USING ERRCODE = 'restrict_violation';
END
$$;

-- Timestamps are whole milliseconds (what JSON carries) and strictly increase per row, so an ETag made
-- from updated_at changes with every write, even two in the same millisecond.
CREATE FUNCTION prompt.next_updated_at(previous timestamptz) RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
  SELECT greatest(date_trunc('milliseconds', clock_timestamp()), previous + interval '1 millisecond')
$$;

CREATE TABLE prompt.parts (
  id uuid PRIMARY KEY,
  kind text NOT NULL REFERENCES prompt.part_kinds (name),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
  tags text[] NOT NULL DEFAULT '{}' CHECK (cardinality(tags) <= 20 AND array_position(tags, NULL) IS NULL),
  default_role text NOT NULL CHECK (default_role IN ('system', 'user', 'assistant')),
  content text NOT NULL CHECK (char_length(content) <= 65536),
  latest_version integer CHECK (latest_version > 0),
  created_by text NOT NULL,
  updated_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  deleted_at timestamptz,
  search tsvector GENERATED ALWAYS AS (
    setweight(to_tsvector('english'::regconfig, name), 'A')
    || setweight(to_tsvector('english'::regconfig, description), 'B')
    || setweight(to_tsvector('english'::regconfig, content), 'C')
  ) STORED
);
CREATE UNIQUE INDEX parts_live_name ON prompt.parts (lower(name)) WHERE deleted_at IS NULL;
CREATE INDEX parts_search ON prompt.parts USING gin (search);
CREATE INDEX parts_tags ON prompt.parts USING gin (tags);
CREATE INDEX parts_kind ON prompt.parts (kind, id);

CREATE TABLE prompt.part_versions (
  part_id uuid NOT NULL REFERENCES prompt.parts (id),
  version integer NOT NULL CHECK (version > 0),
  kind text NOT NULL REFERENCES prompt.part_kinds (name),
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text NOT NULL CHECK (char_length(description) <= 2000),
  tags text[] NOT NULL,
  default_role text NOT NULL CHECK (default_role IN ('system', 'user', 'assistant')),
  content text NOT NULL CHECK (char_length(content) <= 65536),
  -- The variables found in the content at publish (static analysis), for the UI and impact.
  variables jsonb NOT NULL CHECK (jsonb_typeof(variables) = 'array'),
  message text NOT NULL DEFAULT '' CHECK (char_length(message) <= 2000),
  author text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  PRIMARY KEY (part_id, version)
);
CREATE TRIGGER part_versions_immutable BEFORE UPDATE OR DELETE ON prompt.part_versions
  FOR EACH ROW EXECUTE FUNCTION prompt.refuse_change();

ALTER TABLE prompt.parts
  ADD CONSTRAINT parts_latest_version_fkey FOREIGN KEY (id, latest_version)
  REFERENCES prompt.part_versions (part_id, version) DEFERRABLE INITIALLY DEFERRED;

CREATE TABLE prompt.templates (
  id uuid PRIMARY KEY,
  name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 2000),
  merge_adjacent boolean NOT NULL DEFAULT false,
  -- Ids of the registry's model and preset, checked through the registry's API (no cross-schema FK).
  default_model_id uuid,
  default_preset_id uuid,
  variables jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(variables) = 'array'),
  latest_version integer CHECK (latest_version > 0),
  created_by text NOT NULL,
  updated_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  deleted_at timestamptz
);
CREATE UNIQUE INDEX templates_live_name ON prompt.templates (lower(name)) WHERE deleted_at IS NULL;

-- The draft's messages and entries. A part entry pins a part version, or (part_version NULL) follows
-- the part's latest published version until the template is published, which freezes it (D8).
CREATE TABLE prompt.template_messages (
  id uuid PRIMARY KEY,
  template_id uuid NOT NULL REFERENCES prompt.templates (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  role text NOT NULL CHECK (role IN ('system', 'user', 'assistant')),
  UNIQUE (template_id, position) DEFERRABLE INITIALLY DEFERRED
);

CREATE TABLE prompt.template_entries (
  id uuid PRIMARY KEY,
  message_id uuid NOT NULL REFERENCES prompt.template_messages (id) ON DELETE CASCADE,
  template_id uuid NOT NULL REFERENCES prompt.templates (id) ON DELETE CASCADE,
  position integer NOT NULL CHECK (position >= 0),
  part_id uuid REFERENCES prompt.parts (id),
  part_version integer CHECK (part_version > 0),
  text text CHECK (char_length(text) <= 65536),
  UNIQUE (message_id, position) DEFERRABLE INITIALLY DEFERRED,
  CHECK ((part_id IS NOT NULL AND text IS NULL) OR (part_id IS NULL AND part_version IS NULL AND text IS NOT NULL))
);
CREATE INDEX template_entries_part ON prompt.template_entries (part_id) WHERE part_id IS NOT NULL;
CREATE INDEX template_entries_template ON prompt.template_entries (template_id);

CREATE TABLE prompt.template_versions (
  template_id uuid NOT NULL REFERENCES prompt.templates (id),
  version integer NOT NULL CHECK (version > 0),
  name text NOT NULL,
  description text NOT NULL,
  merge_adjacent boolean NOT NULL,
  default_model_id uuid,
  default_preset_id uuid,
  variables jsonb NOT NULL CHECK (jsonb_typeof(variables) = 'array'),
  -- Frozen messages: every part entry names the exact part version it uses.
  messages jsonb NOT NULL CHECK (jsonb_typeof(messages) = 'array'),
  message text NOT NULL DEFAULT '' CHECK (char_length(message) <= 2000),
  author text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  PRIMARY KEY (template_id, version)
);
CREATE TRIGGER template_versions_immutable BEFORE UPDATE OR DELETE ON prompt.template_versions
  FOR EACH ROW EXECUTE FUNCTION prompt.refuse_change();

ALTER TABLE prompt.templates
  ADD CONSTRAINT templates_latest_version_fkey FOREIGN KEY (id, latest_version)
  REFERENCES prompt.template_versions (template_id, version) DEFERRABLE INITIALLY DEFERRED;

-- Which part versions a template version uses: the database guarantees they exist (and stay).
CREATE TABLE prompt.template_version_parts (
  template_id uuid NOT NULL,
  version integer NOT NULL,
  part_id uuid NOT NULL,
  part_version integer NOT NULL,
  PRIMARY KEY (template_id, version, part_id, part_version),
  FOREIGN KEY (template_id, version) REFERENCES prompt.template_versions (template_id, version),
  FOREIGN KEY (part_id, part_version) REFERENCES prompt.part_versions (part_id, version)
);
CREATE INDEX template_version_parts_part ON prompt.template_version_parts (part_id, part_version);
CREATE TRIGGER template_version_parts_immutable BEFORE UPDATE OR DELETE ON prompt.template_version_parts
  FOR EACH ROW EXECUTE FUNCTION prompt.refuse_change();

CREATE TABLE prompt.template_labels (
  template_id uuid NOT NULL REFERENCES prompt.templates (id),
  name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$'),
  version integer NOT NULL,
  protected boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_by text NOT NULL,
  PRIMARY KEY (template_id, name),
  FOREIGN KEY (template_id, version) REFERENCES prompt.template_versions (template_id, version)
);

-- Every label change, kept: who moved which label when, from which version to which (NULL = none).
CREATE TABLE prompt.label_moves (
  id uuid PRIMARY KEY,
  template_id uuid NOT NULL REFERENCES prompt.templates (id),
  label text NOT NULL,
  from_version integer,
  to_version integer,
  protected boolean NOT NULL,
  actor_kind text NOT NULL CHECK (actor_kind IN ('account', 'service')),
  actor_id text NOT NULL,
  request_id text,
  at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  CHECK (from_version IS DISTINCT FROM to_version)
);
CREATE INDEX label_moves_label ON prompt.label_moves (template_id, label, id DESC);
CREATE TRIGGER label_moves_immutable BEFORE UPDATE OR DELETE ON prompt.label_moves
  FOR EACH ROW EXECUTE FUNCTION prompt.refuse_change();

-- Creates accept Idempotency-Key: the same key (per caller) and body give the same answer again.
CREATE TABLE prompt.idempotency_keys (
  actor text NOT NULL,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  operation text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
