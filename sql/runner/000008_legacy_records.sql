-- Historical task records brought by the legacy importer (issue 18, docs/migration.md): each
-- `llm_interaction` row of a BlogForge database that holds a prompt and an output becomes a task of source
-- `legacy`. It was never run here, so it is done from the start (`succeeded`, with no attempt and no lease),
-- and the CHECK keeps it so: the claim reads only `queued` tasks (tasks_queued_idx), so a legacy record can
-- never be claimed, and the runner's own transitions (cancel, retry, the reaper) find nothing to do on it.
ALTER TABLE runner.tasks DROP CONSTRAINT tasks_source_check;
ALTER TABLE runner.tasks ADD CONSTRAINT tasks_source_check CHECK (source IN ('api', 'bus', 'retry', 'legacy'));
ALTER TABLE runner.tasks ADD CONSTRAINT tasks_legacy_done CHECK (
  source <> 'legacy' OR (status = 'succeeded' AND lease_owner IS NULL AND attempts = 0 AND retry_of IS NULL)
);

-- What the importer brought into the runner: each legacy row of a source database, by its kind and legacy
-- id, with the task it became. A second import (or one resumed after a failure) finds its rows here and
-- creates nothing twice.
CREATE TABLE runner.legacy_ids (
  -- The legacy database the row came from (its name, as the importer reports it).
  source text NOT NULL CHECK (length(source) BETWEEN 1 AND 200),
  kind text NOT NULL CHECK (kind IN ('interaction')),
  legacy_id text NOT NULL CHECK (length(legacy_id) BETWEEN 1 AND 200),
  id uuid NOT NULL REFERENCES runner.tasks (id),
  imported_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (source, kind, legacy_id)
);
