-- A provider's monthly spend cap keeps every place its input takes (six: services/kit/src/contracts/registry.ts)
-- at the scale of every other amount of money (docs/tasks.md#money): numeric(14, 4) silently rounded a cap
-- of 0.000050 USD to 0.0001. Widening the scale keeps every stored value as it was.
ALTER TABLE registry.providers ALTER COLUMN monthly_spend_cap_usd TYPE numeric(20, 12);
