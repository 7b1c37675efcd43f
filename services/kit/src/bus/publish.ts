import { afterCommit, onTransactionEnd, poolOfTransaction, type Pool, type Queryable } from '../db.ts';
import { DOORBELL_CHANNEL, ringerOf, ringPayload } from './doorbell.ts';

export { ringPayload };
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

/**
 * True in a statement when another process has a consumer waiting for the doorbell (bus.waiters) for
 * one of the topics of the ring `payloadParam` (a text parameter, `Ringer.payload`: "<origin>;<topics>").
 * This process's own waiting readers hear its commits in-process and need no NOTIFY; a row without an
 * origin or topics (an older process) wants every ring, and so does every row for a payload that names
 * no origin or no topics.
 */
export function consumerWaiting(payloadParam: string): string {
  const ring = `${payloadParam}::text`;
  return `EXISTS (SELECT 1 FROM bus.waiters w WHERE w.expires_at > now()
    AND (w.origin IS NULL OR w.origin <> split_part(${ring}, ';', -2))
    AND (w.topics IS NULL OR split_part(${ring}, ';', -1) = '' OR w.topics && string_to_array(split_part(${ring}, ';', -1), ',')))`;
}

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
 * publishes along with its own change (a data-modifying CTE). Select `doorbellColumns` in the same
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
 * Rings the doorbell for events just written on `db`: this process's waiting readers in-process, and
 * other processes with a NOTIFY when `waiting` (the statement saw one of them wait for these topics). At
 * once when `db` is the pool (the statement was its own transaction), from the commit hook of
 * `withTransaction` when it is one of its transactions. A transaction committed elsewhere rings nothing:
 * its events are found by the readers' sweep (docs/adr/0001-commit-safe-bus-positions.md, "The doorbell").
 */
export function ringAfterCommit(db: Queryable, waiting: boolean, topics?: readonly string[]): void {
  const ring = (pool: Pool) => {
    const ringer = ringerOf(pool);
    ringer.heard(topics);
    if (waiting) ringer.notify(topics);
  };
  if (isPool(db)) ring(db);
  else afterCommit(db, ring);
}

/**
 * The doorbell's columns for a statement that publishes: `waiting` (a consumer waits) and `rang` (the
 * statement NOTIFYed inside its own transaction, which only happens when `leadParam`, a boolean
 * parameter, is true and a consumer waits). `payloadParam` is the ring's payload, a text parameter:
 * the `payload` that `ringing` gives the statement (the topics it may publish and this process's
 * origin). Run the statement through `ringing` with the same topics.
 */
export function doorbellColumns(leadParam: string, payloadParam: string): string {
  return `${consumerWaiting(payloadParam)} AS waiting,
    (SELECT count(*) FROM (SELECT pg_notify('${DOORBELL_CHANNEL}', ${payloadParam}::text)
                           WHERE ${leadParam}::boolean AND ${consumerWaiting(payloadParam)}) n) > 0
      AS rang`;
}

// Transactions of withTransaction whose statement rang inside them, with the topics it rang for ('all'
// when it named none): their commit delivers that ring, so a later statement of the same transaction
// rings after the commit only for topics the first did not name.
const rangInside = new WeakMap<object, Set<string> | 'all'>();

/** True when a ring for `topics` adds nothing to the ring for `rung` already made. */
function covered(rung: Set<string> | 'all', topics: readonly string[] | undefined): boolean {
  return rung === 'all' || (topics !== undefined && topics.every((topic) => rung.has(topic)));
}

/**
 * Runs a statement that publishes on `db` and selects `doorbellColumns` (its `lead` parameter given to
 * `run`), then sees the doorbell rung. On the leading edge — no ring of this process on its way — the
 * statement NOTIFYs inside its own transaction, so its commit delivers the ring with no round trip
 * after it; otherwise the ring is sent after the commit, coalesced (`ringAfterCommit`). A transaction
 * that rang inside rings again only for topics that ring did not name. `topics` are those the
 * statement may publish (a superset is fine: it only wakes more readers; undefined wakes every
 * reader). `run` gets the statement's ring payload (`payload`, for the `doorbellColumns` parameter): the
 * topics and this process's origin, so the process that rang ignores the NOTIFY when it comes back; its
 * own readers hear the commit in-process (`Ringer.heard`) right after it. Answers the statement's first row.
 */
export async function ringing<R extends { waiting: boolean; rang: boolean }>(
  db: Queryable,
  run: (lead: boolean, payload: string) => Promise<R | undefined>,
  topics?: readonly string[],
): Promise<R | undefined> {
  const pool = isPool(db) ? db : poolOfTransaction(db);
  const ringer = pool && ringerOf(pool);
  const payload = ringer ? ringer.payload(topics) : ringPayload(topics);
  const rung = rangInside.get(db);
  if (rung !== undefined) {
    const row = await run(false, payload);
    ringAfterCommit(db, row?.waiting === true && !covered(rung, topics), topics);
    return row;
  }
  const lead = ringer !== undefined && ringer.lead();
  if (lead && !isPool(db)) onTransactionEnd(db, () => ringer.release());
  let row: R | undefined;
  try {
    row = await run(lead, payload);
  } finally {
    if (lead && isPool(db)) ringer.release();
  }
  if (row?.rang) {
    // The commit delivers the NOTIFY to other processes; this one hears it in-process, after the commit.
    ringAfterCommit(db, false, topics);
    if (!isPool(db) && onTransactionEnd(db, () => rangInside.delete(db))) rangInside.set(db, topics ? new Set(topics) : 'all');
  } else ringAfterCommit(db, row?.waiting === true, topics);
  return row;
}

const INSERT_OUTBOX = `WITH inserted AS (${outboxInsert([], 3).text} RETURNING 1)
  SELECT ${doorbellColumns('$1', '$2')}`;

/**
 * Writes many events in one statement (one round trip), in the order given; the same statement tells
 * whether a consumer waits, and if so the doorbell rings: from inside the statement on the leading
 * edge, else right after the commit (`ringing`).
 */
export async function publishMany(tx: Queryable, envelopes: readonly Envelope[]): Promise<Envelope[]> {
  if (envelopes.length === 0) return [];
  // A named statement: each connection parses and plans it once, not on every publish (measured in
  // `npm run bench`: about a third more commits per second).
  const topics = envelopes.map((e) => e.topic);
  await ringing(
    tx,
    async (lead, payload) => {
      const { rows } = await tx.query<{ waiting: boolean; rang: boolean }>({
        name: 'llmops.bus.publish',
        text: INSERT_OUTBOX,
        values: [lead, payload, ...outboxInsert(envelopes, 3).values],
      });
      return rows[0];
    },
    topics,
  );
  return [...envelopes];
}

/** The pool itself (each statement its own transaction), not a client: only pools count their clients. */
function isPool(db: Queryable): db is Pool {
  return 'totalCount' in db && 'idleCount' in db;
}
