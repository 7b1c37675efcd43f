-- Tasks requested over the bus take their idempotency key through runner.idempotency_keys, as HTTP
-- creates do (services/kit/src/idempotency.ts, ADR 0010): the key's row, with the hash of the request it
-- came with, makes the same key with another request a refusal instead of a silent no-op. The tasks of
-- a group share their request's key, so the unique index on tasks goes.
--
-- Keys of bus tasks made before this file keep their tasks; their requests were never hashed, so the
-- key refuses any request from now on (it is never run twice).
INSERT INTO runner.idempotency_keys (actor, key, operation, request_hash, status, response, created_at)
SELECT requester, idempotency_key, 'task.request', 'unknown: made before request hashes were kept',
       CASE WHEN status = 'rejected' THEN 422 ELSE 201 END,
       jsonb_build_object('group_id', group_id, 'task_ids', jsonb_build_array(id)), created_at
FROM runner.tasks
WHERE source = 'bus' AND idempotency_key IS NOT NULL
ON CONFLICT (actor, key) DO NOTHING;

DROP INDEX runner.tasks_idempotency_key;
