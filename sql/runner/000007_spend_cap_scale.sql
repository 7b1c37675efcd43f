-- The runner's copy of a provider's spend cap at the registry's scale (sql/registry/000005): the cap is
-- compared with spend kept at twelve places, so a cap of 0.000050 USD holds as given, not as 0.0001.
ALTER TABLE runner.providers ALTER COLUMN monthly_spend_cap_usd TYPE numeric(20, 12);
