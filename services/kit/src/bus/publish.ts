import { afterCommit, type Pool, type Queryable } from '../db.ts';
import { ringDoorbell } from './doorbell.ts';
import { withArticle } from '../english.ts';
import { parseHeaders, parsePayload, type EventContract, type EventHeaders, type PayloadInputOf } from './contract.ts';
import { uuidv7 } from './uuid.ts';

export interface PublishOptions {
  /** Events of one key are delivered in order. Default: the contract's key function, else the event id. */
  key?: string;
  headers?: EventHeaders;
  /** The event id (UUIDv7); made here when absent. */
  id?: string;
}

/** A validated, broker-neutral event ready to insert: what a CDC outbox router would forward. */
export interface Envelope {
  id: string;
  topic: string;
  key: string;
  payload: unknown;
  headers: EventHeaders;
}

/** Validates the payload against its contract and builds the envelope; throws EventPayloadError. */
export function envelope<C extends EventContract>(event: C, payload: PayloadInputOf<C>, options: PublishOptions = {}): Envelope {
  const parsed = parsePayload(event, payload);
  const id = options.id ?? uuidv7();
  const key = options.key ?? event.key?.(parsed) ?? id;
  if (key === '') throw new Error(`the key of ${withArticle(`${event.topic} event`)} must not be empty`);
  return { id, topic: event.topic, key, payload: parsed, headers: parseHeaders(options.headers) };
}

/**
 * Writes one event to the outbox inside the caller's transaction, so the state change and its event
 * commit (or roll back) together. Never pass the pool unless the event is the only change.
 */
export async function publish<C extends EventContract>(
  tx: Queryable,
  event: C,
  payload: PayloadInputOf<C>,
  options: PublishOptions = {},
): Promise<Envelope> {
  const [published] = await publishMany(tx, [envelope(event, payload, options)]);
  return published as Envelope;
}

/** True in a statement when some process has a consumer waiting for the doorbell (bus.waiters). */
export const CONSUMER_WAITING = `EXISTS (SELECT 1 FROM bus.waiters WHERE expires_at > now())`;

/** How a statement that publishes along with its own change picks and shapes the events it inserts. */
export interface OutboxInsertOptions {
  /** An SQL condition: rows are inserted only when it holds (it may use `e.tag`). */
  when?: string;
  /**
   * One text per envelope, as `e.tag` in `when` and `payload`: e.g. the id of the row each event
   * reports, so a multi-row statement inserts the events of the rows it changed and no others.
   */
  tags?: readonly string[];
  /** An SQL expression of `e.payload` (jsonb) and `e.tag`: the payload as inserted, e.g. with a time only the statement knows. */
  payload?: string;
}

/**
 * The outbox insert of `envelopes` with its parameters numbered from `$firstParam`, for a statement that
 * publishes along with its own change (a data-modifying CTE). Select CONSUMER_WAITING in the same
 * statement and pass it to `ringAfterCommit`.
 */
export function outboxInsert(
  envelopes: readonly Envelope[],
  firstParam: number,
  { when = 'true', tags, payload = 'e.payload' }: OutboxInsertOptions = {},
): { text: string; values: unknown[] } {
  const [id, topic, key, payloads, headers, tag] = [0, 1, 2, 3, 4, 5].map((i) => `$${firstParam + i}`);
  if (tags && tags.length !== envelopes.length) throw new Error('outboxInsert: one tag per envelope');
  return {
    text: `INSERT INTO bus.outbox (event_id, topic, key, payload, headers)
    SELECT e.event_id, e.topic, e.key, ${payload}, e.headers
    FROM unnest(${id}::uuid[], ${topic}::text[], ${key}::text[], ${payloads}::jsonb[], ${headers}::jsonb[]${tags ? `, ${tag}::text[]` : ''})
      WITH ORDINALITY AS e(event_id, topic, key, payload, headers, ${tags ? 'tag, ' : ''}n)
    WHERE ${when}
    ORDER BY e.n`,
    values: [
      envelopes.map((e) => e.id),
      envelopes.map((e) => e.topic),
      envelopes.map((e) => e.key),
      envelopes.map((e) => JSON.stringify(e.payload)),
      envelopes.map((e) => JSON.stringify(e.headers)),
      ...(tags ? [tags] : []),
    ],
  };
}

/**
 * Rings the doorbell for events just written on `db` when a consumer was waiting: at once when `db` is
 * the pool (the statement was its own transaction), from the commit hook of `withTransaction` when it
 * is one of its transactions. A transaction committed elsewhere rings nothing: its events are found by
 * the readers' sweep (docs/adr/0001-commit-safe-bus-positions.md, "The doorbell").
 */
export function ringAfterCommit(db: Queryable, waiting: boolean): void {
  if (!waiting) return;
  if (isPool(db)) ringDoorbell(db);
  else afterCommit(db, ringDoorbell);
}

const INSERT_OUTBOX = `WITH inserted AS (${outboxInsert([], 1).text} RETURNING 1)
  SELECT ${CONSUMER_WAITING} AS waiting`;

/**
 * Writes many events in one statement (one round trip), in the order given; the same statement tells
 * whether a consumer waits, and if so the doorbell rings right after the commit (`ringAfterCommit`).
 */
export async function publishMany(tx: Queryable, envelopes: readonly Envelope[]): Promise<Envelope[]> {
  if (envelopes.length === 0) return [];
  // A named statement: each connection parses and plans it once, not on every publish (measured in
  // `npm run bench`: about a third more commits per second).
  const { rows } = await tx.query<{ waiting: boolean }>({
    name: 'llmops.bus.publish',
    text: INSERT_OUTBOX,
    values: outboxInsert(envelopes, 1).values,
  });
  ringAfterCommit(tx, rows[0]?.waiting === true);
  return [...envelopes];
}

/** The pool itself (each statement its own transaction), not a client: only pools count their clients. */
function isPool(db: Queryable): db is Pool {
  return 'totalCount' in db && 'idleCount' in db;
}
