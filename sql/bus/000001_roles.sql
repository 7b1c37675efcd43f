-- The group roles every service's login role belongs to (login roles are made per deployment by the
-- supervisor or the test harness, see services/kit/src/roles.ts). Roles are cluster-wide, so create
-- each only when missing: several databases of one server share them.
DO $$
DECLARE
  service text;
BEGIN
  FOREACH service IN ARRAY ARRAY['gateway', 'registry', 'prompt', 'runner', 'workflow'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'llmops_' || service) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', 'llmops_' || service);
    END IF;
  END LOOP;
END
$$;

-- Nothing in this database is open to PUBLIC beyond connecting: each service sees its own schema,
-- the bus, and the schema ledger (read-only, for /readyz).
REVOKE ALL ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA llmops_meta TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;
GRANT SELECT ON llmops_meta.schema_ledger TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;

CREATE SCHEMA bus;
GRANT USAGE ON SCHEMA bus TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;
ALTER DEFAULT PRIVILEGES IN SCHEMA bus
  GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;
ALTER DEFAULT PRIVILEGES IN SCHEMA bus
  GRANT USAGE, SELECT ON SEQUENCES TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;
