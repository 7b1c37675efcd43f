-- A consumer group's lease-and-read as a PL/pgSQL function whose statement keeps one generic plan per
-- connection (services/kit/src/bus/cursors.ts `acquireAndRead`, docs/adr/0009-event-bus.md "Plans").
--
-- Sent as a named statement, PostgreSQL re-planned it at every call: its plan cache kept preferring a
-- custom plan to the generic one (the generic plan's row estimates for `LIMIT $n` and `unnest($2)` are
-- larger), and planning took 0.4-0.6 ms against 0.1-0.2 ms of execution on the machine's PostgreSQL 15 —
-- the largest part of a consumer's commit → handler time at low load, twice per event. The SET clauses
-- apply to the function's own statement only, not to the rest of the service's connection.
--
-- A generic plan is made once per connection, maybe while the tables are still empty, and kept while they
-- grow (until an ANALYZE invalidates it): it must not depend on their size. With sequential scans off,
-- every table is read through an index (each access here has one), and the held-back check's topic test
-- is kept out of the index condition so that it walks the position index from the xmin (a few rows)
-- rather than every event of the topic. Measured (EXPLAIN (ANALYZE) of the plan made on an empty outbox,
-- then used at 50,000 events): 33.8 ms with a sequential scan of the outbox for the held-back check as
-- PostgreSQL first planned it, 2.9 ms with these (docs/bench.md, issue 14).
--
-- The statement as it was in cursors.ts, with two more columns: `held` is answered whether or not a
-- partition was leased, and `parked` says whether the group has parked events that may still run, so an
-- idle group's retry loop sends nothing (services/kit/src/bus/consumer.ts).
CREATE FUNCTION bus.lease_and_read(
  p_group text,
  p_topics text[],
  p_partitions integer,
  p_owner text,
  p_lease_ms double precision,
  p_batch_size integer
) RETURNS TABLE (
  leased_partition smallint,
  cursor_txid text,
  cursor_id text,
  lease_owner text,
  xmin text,
  outbox_id text,
  txid text,
  event_id uuid,
  topic text,
  key text,
  partition smallint,
  payload jsonb,
  headers jsonb,
  created_at timestamptz,
  held boolean,
  parked boolean,
  blocked boolean
)
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
SET enable_seqscan = off
AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  WITH snap AS MATERIALIZED (SELECT pg_snapshot_xmin(pg_current_snapshot()) AS xmin),
  candidates AS (
    SELECT c.partition
    FROM bus.cursors c, snap
    WHERE c.group_name = p_group
      AND (c.lease_expires_at IS NULL OR c.lease_expires_at < now())
      AND EXISTS (
        -- Topic by topic, as the read below: with topic = ANY(…) PostgreSQL 15 walked each partition's
        -- events of those topics rather than seek past the cursor.
        SELECT 1 FROM unnest(p_topics) AS t(topic), LATERAL (
          SELECT 1 FROM bus.outbox o
          WHERE o.topic = t.topic AND o.partition = c.partition
            AND o.txid < snap.xmin AND (o.txid, o.id) > (c.txid, c.id)
          LIMIT 1
        ) found
      )
    ORDER BY c.updated_at
    LIMIT p_partitions
    FOR UPDATE OF c SKIP LOCKED
  ),
  leased AS (
    -- Commits without waiting for its WAL to reach the disk (cursors.ts, ASYNC_COMMIT).
    UPDATE bus.cursors c
    SET lease_owner = p_owner || ':' || c.partition, lease_expires_at = now() + p_lease_ms * interval '1 millisecond'
    FROM candidates
    WHERE c.group_name = p_group AND c.partition = candidates.partition
      AND (c.lease_expires_at IS NULL OR c.lease_expires_at < now())
      AND set_config('synchronous_commit', 'off', true) = 'off'
    RETURNING c.partition, c.txid, c.id, c.lease_owner
  ),
  state AS MATERIALIZED (
    SELECT EXISTS (
      -- The same snapshot's xmin, as an expression the planner can take to the index (a CTE's value it cannot);
      -- the topic test, with IS TRUE, is no index condition: the position index from the xmin, not the topic's.
      SELECT 1 FROM bus.outbox o WHERE o.txid >= pg_snapshot_xmin(pg_current_snapshot()) AND (o.topic = ANY(p_topics)) IS TRUE
    ) AS held,
    EXISTS (SELECT 1 FROM bus.parked p WHERE p.group_name = p_group AND p.status <> 'dead') AS parked
  )
  SELECT l.partition, l.txid::text, l.id::text, l.lease_owner, snap.xmin::text,
         o.outbox_id, o.txid, o.event_id, o.topic, o.key, o.partition, o.payload, o.headers, o.created_at,
         state.held, state.parked,
         (o.outbox_id IS NOT NULL AND EXISTS (
           SELECT 1 FROM bus.parked p WHERE p.group_name = p_group AND p.partition = l.partition AND p.key = o.key
         ))
  FROM snap CROSS JOIN state LEFT JOIN leased l ON true LEFT JOIN LATERAL (
    SELECT m.* FROM unnest(p_topics) AS t(topic) CROSS JOIN LATERAL (
      SELECT o.id::text AS outbox_id, o.txid::text AS txid, o.event_id, o.topic, o.key, o.partition, o.payload,
             o.headers, o.created_at, o.txid AS position_txid, o.id AS position_id
      FROM bus.outbox o
      WHERE o.topic = t.topic
        AND o.partition = l.partition
        AND o.txid < snap.xmin
        AND (o.txid, o.id) > (l.txid, l.id)
      ORDER BY o.txid, o.id
      LIMIT p_batch_size
    ) m
    ORDER BY m.position_txid, m.position_id
    LIMIT p_batch_size
  ) o ON true
  ORDER BY l.partition, o.position_txid, o.position_id;
END
$$;

REVOKE ALL ON FUNCTION bus.lease_and_read(text, text[], integer, text, double precision, integer) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION bus.lease_and_read(text, text[], integer, text, double precision, integer)
  TO llmops_gateway, llmops_registry, llmops_prompt, llmops_runner, llmops_workflow;

-- The group's parked events that may still run, for the `parked` flag above: a group with many dead
-- events does not walk them at every read.
CREATE INDEX parked_live ON bus.parked (group_name) WHERE status <> 'dead';
