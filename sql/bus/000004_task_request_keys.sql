-- Idempotency-key retention (docs/operations.md#retention) keeps the runner's key of a bus task request
-- while any outbox row that could deliver that request again still exists: an unprocessed event, a
-- retained processed one, or a dead letter that could be replayed (parked rows hold their outbox row).
-- This partial index answers "is the key (requester, key) still carried by some runner.task.requested
-- row?" with one probe; other topics pay nothing for it. The expressions are exactly how the runner
-- derives a request's key (services/runner/src/create/service.ts): actor `service:<requester>`, key the
-- payload's idempotency_key, else the event id.
CREATE INDEX outbox_task_request_key ON bus.outbox
  (('service:' || (payload ->> 'requester')), (coalesce(payload ->> 'idempotency_key', event_id::text)))
  WHERE topic = 'runner.task.requested';
