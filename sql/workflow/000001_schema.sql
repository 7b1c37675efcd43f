-- The workflow service's schema: only llmops_workflow (and the admin that applies sql/) may use it.
CREATE SCHEMA workflow;
GRANT USAGE ON SCHEMA workflow TO llmops_workflow;
ALTER DEFAULT PRIVILEGES IN SCHEMA workflow GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_workflow;
ALTER DEFAULT PRIVILEGES IN SCHEMA workflow GRANT USAGE, SELECT ON SEQUENCES TO llmops_workflow;
ALTER DEFAULT PRIVILEGES IN SCHEMA workflow GRANT EXECUTE ON FUNCTIONS TO llmops_workflow;
