-- What the legacy importer (docs/migration.md) brought into the workflow service: each legacy row of a
-- source database, by its kind and legacy id, with the row it became (a field, substage, action, post,
-- section or per-post choice). A second import of the same source finds its rows here and imports nothing
-- twice.
CREATE TABLE workflow.legacy_ids (
  -- The legacy database the row came from (its name, as the importer reports it).
  source text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('field', 'substage', 'action', 'post', 'section', 'choice')),
  legacy_id text NOT NULL CHECK (length(legacy_id) BETWEEN 1 AND 200),
  -- A choice is keyed by its post and action, not one id: `id` is then the post's.
  id uuid NOT NULL,
  imported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, kind, legacy_id)
);
