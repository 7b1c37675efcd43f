-- The registry service's schema: only llmops_registry (and the admin that applies sql/) may use it.
CREATE SCHEMA registry;
GRANT USAGE ON SCHEMA registry TO llmops_registry;
ALTER DEFAULT PRIVILEGES IN SCHEMA registry GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_registry;
ALTER DEFAULT PRIVILEGES IN SCHEMA registry GRANT USAGE, SELECT ON SEQUENCES TO llmops_registry;
ALTER DEFAULT PRIVILEGES IN SCHEMA registry GRANT EXECUTE ON FUNCTIONS TO llmops_registry;
