-- The runner service's schema: only llmops_runner (and the admin that applies sql/) may use it.
CREATE SCHEMA runner;
GRANT USAGE ON SCHEMA runner TO llmops_runner;
ALTER DEFAULT PRIVILEGES IN SCHEMA runner GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_runner;
ALTER DEFAULT PRIVILEGES IN SCHEMA runner GRANT USAGE, SELECT ON SEQUENCES TO llmops_runner;
ALTER DEFAULT PRIVILEGES IN SCHEMA runner GRANT EXECUTE ON FUNCTIONS TO llmops_runner;
