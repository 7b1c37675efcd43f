-- The doorbell rings from the producing process right after its commit (services/kit/src/bus/doorbell.ts,
-- docs/adr/0009-event-bus.md "The doorbell"), no longer from a deferred trigger inside every producing
-- transaction: a NOTIFY sent at commit takes PostgreSQL's cluster-wide notify lock and holds it until
-- the commit record is flushed, so every notifying producer waited for the others' fsyncs.
DROP TRIGGER IF EXISTS ring_doorbell ON bus.outbox;
DROP FUNCTION IF EXISTS bus.ring_doorbell();
