-- Who holds an account (issue 10): a person, or one of the automation accounts the operator CLI makes
-- for `token create` without `--account` (one per role, nobody signs in to them). The last-admin rule
-- counts people only, so an automation admin never lets the last human admin go.
ALTER TABLE gateway.accounts
  ADD COLUMN kind text NOT NULL DEFAULT 'human' CHECK (kind IN ('human', 'automation'));

-- Those made before this file are known by the addresses the CLI gives them (.invalid never delivers).
UPDATE gateway.accounts SET kind = 'automation'
WHERE email IN ('admin-automation@llmops.invalid', 'editor-automation@llmops.invalid', 'viewer-automation@llmops.invalid');
