-- The gateway service's schema: only llmops_gateway (and the admin that applies sql/) may use it.
CREATE SCHEMA gateway;
GRANT USAGE ON SCHEMA gateway TO llmops_gateway;
ALTER DEFAULT PRIVILEGES IN SCHEMA gateway GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_gateway;
ALTER DEFAULT PRIVILEGES IN SCHEMA gateway GRANT USAGE, SELECT ON SEQUENCES TO llmops_gateway;
ALTER DEFAULT PRIVILEGES IN SCHEMA gateway GRANT EXECUTE ON FUNCTIONS TO llmops_gateway;
