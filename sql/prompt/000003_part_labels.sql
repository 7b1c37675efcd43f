-- Part labels (docs/prompts.md): named pointers to part versions that template entries may follow.
-- `latest` is built in (the newest published version) and never stored.

CREATE TABLE prompt.part_labels (
  part_id uuid NOT NULL REFERENCES prompt.parts (id),
  name text NOT NULL CHECK (name ~ '^[a-z0-9][a-z0-9._-]{0,62}$' AND name <> 'latest'),
  version integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  updated_by text NOT NULL,
  PRIMARY KEY (part_id, name),
  FOREIGN KEY (part_id, version) REFERENCES prompt.part_versions (part_id, version)
);

-- Every part label change, kept: who moved which label when, from which version to which (NULL = none).
CREATE TABLE prompt.part_label_moves (
  id uuid PRIMARY KEY,
  part_id uuid NOT NULL REFERENCES prompt.parts (id),
  label text NOT NULL,
  from_version integer,
  to_version integer,
  actor_kind text NOT NULL CHECK (actor_kind IN ('account', 'service')),
  actor_id text NOT NULL,
  request_id text,
  at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', clock_timestamp()),
  CHECK (from_version IS DISTINCT FROM to_version)
);
CREATE INDEX part_label_moves_label ON prompt.part_label_moves (part_id, label, id DESC);
CREATE TRIGGER part_label_moves_immutable BEFORE UPDATE OR DELETE ON prompt.part_label_moves
  FOR EACH ROW EXECUTE FUNCTION prompt.refuse_change();

-- A draft entry may follow a part label instead of the latest version (publishing freezes it, D8).
ALTER TABLE prompt.template_entries
  ADD COLUMN part_label text CHECK (part_label ~ '^[a-z0-9][a-z0-9._-]{0,62}$' AND part_label <> 'latest'),
  ADD CONSTRAINT template_entries_label_follows CHECK (part_label IS NULL OR (part_id IS NOT NULL AND part_version IS NULL));
CREATE INDEX template_entries_part_label ON prompt.template_entries (part_id, part_label) WHERE part_label IS NOT NULL;
