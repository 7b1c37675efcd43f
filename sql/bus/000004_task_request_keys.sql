-- Idempotency-key retention (docs/operations.md#retention) keeps the runner's key of a bus task request
-- while any outbox row that could deliver that request again still exists: an unprocessed event, a
-- retained processed one, or a dead letter that could be replayed (parked rows hold their outbox row).
-- This partial index lets the planner answer "is the key (requester, key) still carried by some
-- runner.task.requested row?" with one probe per key when few keys are due; with many it hashes the
-- topic's rows once per batch instead (20,000 due keys against 20,000 rows: 122 ms for the whole check).
-- Other topics pay nothing for it. The expressions are exactly how the runner
-- derives a request's key (services/runner/src/create/service.ts): actor `service:<requester>`, key the
-- payload's idempotency_key, else the event id.
CREATE INDEX outbox_task_request_key ON bus.outbox
  (('service:' || (payload ->> 'requester')), (coalesce(payload ->> 'idempotency_key', event_id::text)))
  WHERE topic = 'runner.task.requested';
