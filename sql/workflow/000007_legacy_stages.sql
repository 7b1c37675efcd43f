-- The legacy importer (docs/migration.md) also creates the stages a legacy database has and the reference
-- data lacks (a legacy `workflow_stage_entity` row whose name matches no stage here): it records each in
-- workflow.legacy_ids like the substages it creates, so a second import creates none twice.
ALTER TABLE workflow.legacy_ids DROP CONSTRAINT legacy_ids_kind_check;
ALTER TABLE workflow.legacy_ids
  ADD CONSTRAINT legacy_ids_kind_check CHECK (kind IN ('stage', 'field', 'substage', 'action', 'post', 'section', 'choice'));
