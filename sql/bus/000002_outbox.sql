-- The event bus (DESIGN D5, docs/adr/0001-commit-safe-bus-positions.md, docs/events.md).
--
-- A bus position is (txid, id): the writing transaction's xid8 and the row's id. Readers only read rows
-- whose txid is below the xmin of their snapshot, where every transaction has finished, so no row can
-- appear later behind a position that was already passed (the gap trap of ids that commit out of order).

-- The transactional outbox: services insert here in the same transaction as their state change.
-- 16 partitions, fixed: a key's events all land in one partition, which is the unit of per-key order
-- and of work sharing between the instances of a consumer group. Changing the count would move keys
-- between partitions, so it is part of the schema, not configuration.
CREATE TABLE bus.outbox (
  id bigserial PRIMARY KEY,
  txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  topic text NOT NULL CHECK (topic ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$' AND length(topic) <= 200),
  key text NOT NULL CHECK (key <> '' AND length(key) <= 500),
  partition smallint NOT NULL GENERATED ALWAYS AS (((hashtext(key) & 2147483647) % 16)::smallint) STORED,
  event_id uuid NOT NULL UNIQUE,
  payload jsonb NOT NULL,
  headers jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(headers) = 'object'),
  created_at timestamptz NOT NULL DEFAULT now()
);

-- Broadcast readers walk everything in position order; consumer groups walk one partition of a few topics.
CREATE INDEX outbox_position ON bus.outbox (txid, id);
CREATE INDEX outbox_partition_position ON bus.outbox (partition, txid, id);
CREATE INDEX outbox_topic_partition_position ON bus.outbox (topic, partition, txid, id);
CREATE INDEX outbox_created_at ON bus.outbox (created_at);

-- Processes with a consumer that is waiting for the doorbell: one row per process, kept alive by a
-- heartbeat. Unlogged: it is soft state, lost on a crash, rebuilt by the next idle consumer.
CREATE UNLOGGED TABLE bus.waiters (
  waiter text PRIMARY KEY,
  expires_at timestamptz NOT NULL
);

-- The doorbell: once per producing transaction, at commit (a deferred constraint trigger), and only
-- when some process waits. NOTIFY takes a cluster-wide lock at commit, so a busy system whose consumers
-- never idle pays nothing for it; a NOTIFY is only a wake-up hint, the outbox is the truth.
CREATE FUNCTION bus.ring_doorbell() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_setting('llmops.bus_doorbell', true) IS DISTINCT FROM 'rung' THEN
    PERFORM set_config('llmops.bus_doorbell', 'rung', true);
    IF EXISTS (SELECT 1 FROM bus.waiters WHERE expires_at > now()) THEN
      PERFORM pg_notify('llmops_bus', '');
    END IF;
  END IF;
  RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER ring_doorbell
  AFTER INSERT ON bus.outbox
  DEFERRABLE INITIALLY DEFERRED
  FOR EACH ROW EXECUTE FUNCTION bus.ring_doorbell();

-- Durable consumer groups and the topics they read (retention keeps what a group has not processed).
CREATE TABLE bus.groups (
  group_name text PRIMARY KEY CHECK (group_name ~ '^[a-z][a-z0-9_.-]*$' AND length(group_name) <= 100),
  topics text[] NOT NULL CHECK (cardinality(topics) > 0),
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- One cursor per (group, partition): the position processed up to, and a lease (owner token + expiry
-- on the database's clock) held by the instance processing a batch of that partition.
CREATE TABLE bus.cursors (
  group_name text NOT NULL REFERENCES bus.groups ON DELETE CASCADE,
  partition smallint NOT NULL CHECK (partition >= 0 AND partition < 16),
  txid xid8 NOT NULL DEFAULT '0',
  id bigint NOT NULL DEFAULT 0,
  lease_owner text,
  lease_expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, partition),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

-- Events a group could not process yet: `retrying` (backoff), `waiting` (behind an earlier event of
-- its key) or `dead` (gave up; the key stays parked until replay or skip). The head of a key is its
-- parked event with the lowest position; only heads run.
CREATE TABLE bus.parked (
  group_name text NOT NULL REFERENCES bus.groups ON DELETE CASCADE,
  event_id uuid NOT NULL,
  outbox_id bigint NOT NULL REFERENCES bus.outbox (id),
  txid xid8 NOT NULL,
  key text NOT NULL,
  partition smallint NOT NULL,
  topic text NOT NULL,
  status text NOT NULL CHECK (status IN ('retrying', 'waiting', 'dead')),
  attempts integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  last_error text,
  lease_owner text,
  lease_expires_at timestamptz,
  parked_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (group_name, event_id),
  CHECK ((lease_owner IS NULL) = (lease_expires_at IS NULL))
);

CREATE INDEX parked_key_position ON bus.parked (group_name, key, txid, outbox_id);
CREATE INDEX parked_partition ON bus.parked (group_name, partition, key);
CREATE INDEX parked_outbox ON bus.parked (outbox_id);
CREATE INDEX parked_dead ON bus.parked (group_name, parked_at) WHERE status = 'dead';

-- The highest position retention has deleted: a reader behind it has missed events and must resync.
CREATE TABLE bus.retention_horizon (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  txid xid8 NOT NULL DEFAULT '0',
  id bigint NOT NULL DEFAULT 0,
  ran_at timestamptz
);
INSERT INTO bus.retention_horizon DEFAULT VALUES;
