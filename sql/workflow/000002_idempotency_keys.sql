-- The workflow service's idempotency keys, in the shape every service's have (services/kit/src/idempotency.ts):
-- its creates take `Idempotency-Key` through kit, per caller (ADR 0013).
CREATE TABLE workflow.idempotency_keys (
  actor text NOT NULL,
  key text NOT NULL CHECK (char_length(key) BETWEEN 1 AND 200),
  operation text NOT NULL,
  request_hash text NOT NULL,
  status integer,
  response jsonb,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor, key)
);
