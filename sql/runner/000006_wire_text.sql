-- The wire request of an attempt is kept as sent (ADR 0010, docs/tasks.md): method, URL, headers without
-- the authorization ones, and the body as the exact text sent, a JSON string inside the jsonb value
-- (jsonb keeps strings byte for byte; a parsed body would have its keys reordered).
--
-- Attempts recorded before this file kept the parsed body and no headers; they take the new shape with
-- the body as the JSON text of what was kept (its keys in jsonb's order: what was sent exactly is gone)
-- and no headers.
UPDATE runner.attempts
SET wire = jsonb_build_object(
  'method', coalesce(wire ->> 'method', 'POST'),
  'url', coalesce(wire ->> 'url', ''),
  'headers', '{}'::jsonb,
  'body', CASE
    WHEN jsonb_typeof(wire -> 'body') = 'string' THEN wire ->> 'body'
    WHEN wire -> 'body' IS NULL OR jsonb_typeof(wire -> 'body') = 'null' THEN ''
    ELSE (wire -> 'body')::text
  END)
WHERE wire IS NOT NULL AND NOT (wire ? 'headers' AND jsonb_typeof(wire -> 'body') = 'string');

ALTER TABLE runner.attempts ADD CONSTRAINT attempts_wire_shape CHECK (
  wire IS NULL OR (
    jsonb_typeof(wire -> 'method') = 'string'
    AND jsonb_typeof(wire -> 'url') = 'string'
    AND jsonb_typeof(wire -> 'headers') = 'object'
    AND jsonb_typeof(wire -> 'body') = 'string'
  )
);
