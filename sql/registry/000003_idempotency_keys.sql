-- Every service's idempotency keys have one shape (services/kit/src/idempotency.ts): the registry's
-- table gets the key length rule the others have (its contract already refuses longer keys).
ALTER TABLE registry.idempotency_keys
  ADD CONSTRAINT idempotency_keys_key_check CHECK (char_length(key) BETWEEN 1 AND 200);
