-- The prompt service's schema: only llmops_prompt (and the admin that applies sql/) may use it.
CREATE SCHEMA prompt;
GRANT USAGE ON SCHEMA prompt TO llmops_prompt;
ALTER DEFAULT PRIVILEGES IN SCHEMA prompt GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_prompt;
ALTER DEFAULT PRIVILEGES IN SCHEMA prompt GRANT USAGE, SELECT ON SEQUENCES TO llmops_prompt;
ALTER DEFAULT PRIVILEGES IN SCHEMA prompt GRANT EXECUTE ON FUNCTIONS TO llmops_prompt;
