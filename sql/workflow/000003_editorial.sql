-- The editorial model (docs/workflow.md): stages and substages, fields defined as data, posts, their
-- sections, and every field value as a chain of revisions. Stages, substages and the starter fields are
-- the product's definition set (reference data, like the legacy system's stages), not content.

CREATE TABLE workflow.stages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key text NOT NULL UNIQUE CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
  label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  position integer NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- A retired substage keeps its posts, fields and history; it is only no longer offered.
CREATE TABLE workflow.substages (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  stage_id uuid NOT NULL REFERENCES workflow.stages (id),
  key text NOT NULL UNIQUE CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
  label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  position integer NOT NULL,
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX substages_stage ON workflow.substages (stage_id, position);

-- A field is edited at one substage, on the post or on each section (scope).
CREATE TABLE workflow.fields (
  id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  key text NOT NULL UNIQUE CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
  label text NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
  description text NOT NULL DEFAULT '' CHECK (char_length(description) <= 1000),
  kind text NOT NULL CHECK (kind IN ('text', 'markdown', 'list', 'json', 'image')),
  json_schema jsonb CHECK (json_schema IS NULL OR kind = 'json'),
  scope text NOT NULL DEFAULT 'post' CHECK (scope IN ('post', 'section')),
  substage_id uuid NOT NULL REFERENCES workflow.substages (id),
  position integer NOT NULL,
  required boolean NOT NULL DEFAULT false,
  retired_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX fields_substage ON workflow.fields (substage_id, position);

CREATE TABLE workflow.posts (
  id uuid PRIMARY KEY,
  title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
  slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$' AND char_length(slug) <= 200),
  status text NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'in_process', 'published', 'archived')),
  substage_id uuid NOT NULL REFERENCES workflow.substages (id),
  created_by text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX posts_status ON workflow.posts (status, id);
CREATE INDEX posts_substage ON workflow.posts (substage_id, id);

-- Removed sections keep their rows (and their values' history); `removed_at` hides them.
CREATE TABLE workflow.sections (
  id uuid PRIMARY KEY,
  post_id uuid NOT NULL REFERENCES workflow.posts (id),
  position integer NOT NULL,
  removed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sections_post ON workflow.sections (post_id, position) WHERE removed_at IS NULL;

-- One row per (post, section or none, field): the head of its revision chain, locked by every write.
CREATE TABLE workflow.field_values (
  id uuid PRIMARY KEY,
  post_id uuid NOT NULL REFERENCES workflow.posts (id),
  section_id uuid REFERENCES workflow.sections (id),
  field_id uuid NOT NULL REFERENCES workflow.fields (id),
  head_revision_id uuid NOT NULL,
  UNIQUE NULLS NOT DISTINCT (post_id, section_id, field_id)
);

-- Every change of a value. author_kind account | task | service; an account's autosave amends its own
-- open revision (amended_at moves) instead of adding one per keystroke batch.
CREATE TABLE workflow.revisions (
  id uuid PRIMARY KEY,
  value_id uuid NOT NULL REFERENCES workflow.field_values (id),
  previous_revision_id uuid REFERENCES workflow.revisions (id),
  value jsonb NOT NULL,
  author_kind text NOT NULL CHECK (author_kind IN ('account', 'task', 'service')),
  author_id text NOT NULL CHECK (char_length(author_id) BETWEEN 1 AND 200),
  source_task_id uuid,
  restored_from_revision_id uuid REFERENCES workflow.revisions (id),
  created_at timestamptz NOT NULL DEFAULT now(),
  amended_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX revisions_value ON workflow.revisions (value_id, id);
ALTER TABLE workflow.field_values
  ADD CONSTRAINT field_values_head FOREIGN KEY (head_revision_id) REFERENCES workflow.revisions (id) DEFERRABLE INITIALLY DEFERRED;

-- Reference data: the editorial stages and substages of the legacy system (blogforge §2.4), in order.
INSERT INTO workflow.stages (key, label, position) VALUES
  ('planning', 'Planning', 1),
  ('authoring', 'Authoring', 2),
  ('publishing', 'Publishing', 3);

INSERT INTO workflow.substages (stage_id, key, label, description, position)
SELECT s.id, v.key, v.label, v.description, v.position
FROM (VALUES
  ('planning', 'idea', 'Idea', 'Initial concept', 1),
  ('planning', 'research', 'Research', 'Research and fact-finding', 2),
  ('planning', 'structure', 'Structure', 'Outline and structure', 3),
  ('authoring', 'content', 'Content', 'Content authoring', 1),
  ('authoring', 'meta_info', 'Meta Info', 'Metadata and SEO', 2),
  ('authoring', 'images', 'Images', 'Image creation', 3),
  ('publishing', 'preflight', 'Preflight', 'Pre-publication checks', 1),
  ('publishing', 'launch', 'Launch', 'Publishing', 2),
  ('publishing', 'syndication', 'Syndication', 'Syndication and distribution', 3)
) AS v (stage, key, label, description, position)
JOIN workflow.stages s ON s.key = v.stage;

-- The neutral editorial starter set of fields, for the nine substages.
INSERT INTO workflow.fields (key, label, description, kind, scope, substage_id, position)
SELECT v.key, v.label, v.description, v.kind, v.scope, ss.id, v.position
FROM (VALUES
  ('idea', 'basic_idea', 'Idea', 'The idea of the post in a few sentences', 'markdown', 'post', 1),
  ('idea', 'working_title', 'Working title', 'A provisional title', 'text', 'post', 2),
  ('idea', 'scope', 'Scope', 'What the post covers and what it leaves out', 'markdown', 'post', 3),
  ('research', 'topics', 'Topics to cover', 'The topics the post should cover', 'list', 'post', 1),
  ('research', 'facts', 'Facts', 'Facts worth using, with their sources', 'list', 'post', 2),
  ('structure', 'outline', 'Outline', 'The structure of the post', 'markdown', 'post', 1),
  ('structure', 'section_headings', 'Section headings', 'One heading per section, in order', 'list', 'post', 2),
  ('content', 'heading', 'Heading', 'The section''s heading', 'text', 'section', 1),
  ('content', 'description', 'Description', 'What the section says', 'markdown', 'section', 2),
  ('content', 'draft', 'Draft', 'The section''s text', 'markdown', 'section', 3),
  ('content', 'introduction', 'Introduction', 'The opening of the post', 'markdown', 'post', 4),
  ('content', 'conclusion', 'Conclusion', 'The close of the post', 'markdown', 'post', 5),
  ('meta_info', 'meta_title', 'Meta title', 'The title search engines and shares show', 'text', 'post', 1),
  ('meta_info', 'meta_description', 'Meta description', 'The summary search engines and shares show', 'text', 'post', 2),
  ('meta_info', 'tags', 'Tags', 'Tags of the post', 'list', 'post', 3),
  ('images', 'header_image', 'Header image', 'The post''s header image, its prompt and caption', 'image', 'post', 1),
  ('images', 'section_image', 'Section image', 'The section''s illustration, its prompt and caption', 'image', 'section', 2),
  ('images', 'image_captions', 'Image captions', 'Captions of the post''s images', 'list', 'post', 3),
  ('preflight', 'final_check', 'Final check', 'What was checked before publishing', 'markdown', 'post', 1),
  ('launch', 'publication_notes', 'Publication notes', 'Where and when the post was published', 'markdown', 'post', 1),
  ('syndication', 'syndication_copy', 'Syndication copy', 'Text for sharing the post elsewhere', 'markdown', 'post', 1)
) AS v (substage, key, label, description, kind, scope, position)
JOIN workflow.substages ss ON ss.key = v.substage;
